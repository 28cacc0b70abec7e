; BLAKE2b compression F (EIP-152), compiled at first use with llvmlite (_blake2f_native.py); the
; same function as `blake2f.compress`. The work vector v[0..16] lives in a stack array that SROA
; promotes to registers once @g is inlined with constant indices; the message word of each mix is
; read through the SIGMA table row of the round.
;
; void @blake2f(i64 rounds, ptr h (8 x i64, in/out), ptr m (16 x i64), i64 t0, i64 t1, i64 final_mask)

@sigma = internal constant [10 x [16 x i8]] [
  [16 x i8] [i8 0, i8 1, i8 2, i8 3, i8 4, i8 5, i8 6, i8 7, i8 8, i8 9, i8 10, i8 11, i8 12, i8 13, i8 14, i8 15],
  [16 x i8] [i8 14, i8 10, i8 4, i8 8, i8 9, i8 15, i8 13, i8 6, i8 1, i8 12, i8 0, i8 2, i8 11, i8 7, i8 5, i8 3],
  [16 x i8] [i8 11, i8 8, i8 12, i8 0, i8 5, i8 2, i8 15, i8 13, i8 10, i8 14, i8 3, i8 6, i8 7, i8 1, i8 9, i8 4],
  [16 x i8] [i8 7, i8 9, i8 3, i8 1, i8 13, i8 12, i8 11, i8 14, i8 2, i8 6, i8 5, i8 10, i8 4, i8 0, i8 15, i8 8],
  [16 x i8] [i8 9, i8 0, i8 5, i8 7, i8 2, i8 4, i8 10, i8 15, i8 14, i8 1, i8 11, i8 12, i8 6, i8 8, i8 3, i8 13],
  [16 x i8] [i8 2, i8 12, i8 6, i8 10, i8 0, i8 11, i8 8, i8 3, i8 4, i8 13, i8 7, i8 5, i8 15, i8 14, i8 1, i8 9],
  [16 x i8] [i8 12, i8 5, i8 1, i8 15, i8 14, i8 13, i8 4, i8 10, i8 0, i8 7, i8 6, i8 3, i8 9, i8 2, i8 8, i8 11],
  [16 x i8] [i8 13, i8 11, i8 7, i8 14, i8 12, i8 1, i8 3, i8 9, i8 5, i8 0, i8 15, i8 4, i8 8, i8 6, i8 2, i8 10],
  [16 x i8] [i8 6, i8 15, i8 14, i8 9, i8 11, i8 3, i8 0, i8 8, i8 12, i8 2, i8 13, i8 7, i8 1, i8 4, i8 10, i8 5],
  [16 x i8] [i8 10, i8 2, i8 8, i8 4, i8 7, i8 6, i8 1, i8 5, i8 15, i8 11, i8 9, i8 14, i8 3, i8 12, i8 13, i8 0]
]

define internal i64 @rotr(i64 %x, i64 %n) alwaysinline {
  %r = call i64 @llvm.fshr.i64(i64 %x, i64 %x, i64 %n)
  ret i64 %r
}

declare i64 @llvm.fshr.i64(i64, i64, i64)

; m[sigma[row][k]]
define internal i64 @word(ptr %m, i64 %row, i64 %k) alwaysinline {
  %sp = getelementptr [10 x [16 x i8]], ptr @sigma, i64 0, i64 %row, i64 %k
  %s = load i8, ptr %sp, align 1
  %i = zext i8 %s to i64
  %mp = getelementptr i64, ptr %m, i64 %i
  %w = load i64, ptr %mp, align 8
  ret i64 %w
}

; the mix G of v[a], v[b], v[c], v[d] with message words k and k+1 of the round's row
define internal void @g(ptr %v, ptr %m, i64 %row, i64 %ia, i64 %ib, i64 %ic, i64 %id, i64 %k) alwaysinline {
  %pa = getelementptr [16 x i64], ptr %v, i64 0, i64 %ia
  %pb = getelementptr [16 x i64], ptr %v, i64 0, i64 %ib
  %pc = getelementptr [16 x i64], ptr %v, i64 0, i64 %ic
  %pd = getelementptr [16 x i64], ptr %v, i64 0, i64 %id
  %a0 = load i64, ptr %pa, align 8
  %b0 = load i64, ptr %pb, align 8
  %c0 = load i64, ptr %pc, align 8
  %d0 = load i64, ptr %pd, align 8
  %x = call i64 @word(ptr %m, i64 %row, i64 %k)
  %k1 = add i64 %k, 1
  %y = call i64 @word(ptr %m, i64 %row, i64 %k1)
  %a1s = add i64 %a0, %b0
  %a1 = add i64 %a1s, %x
  %d1x = xor i64 %d0, %a1
  %d1 = call i64 @rotr(i64 %d1x, i64 32)
  %c1 = add i64 %c0, %d1
  %b1x = xor i64 %b0, %c1
  %b1 = call i64 @rotr(i64 %b1x, i64 24)
  %a2s = add i64 %a1, %b1
  %a2 = add i64 %a2s, %y
  %d2x = xor i64 %d1, %a2
  %d2 = call i64 @rotr(i64 %d2x, i64 16)
  %c2 = add i64 %c1, %d2
  %b2x = xor i64 %b1, %c2
  %b2 = call i64 @rotr(i64 %b2x, i64 63)
  store i64 %a2, ptr %pa, align 8
  store i64 %b2, ptr %pb, align 8
  store i64 %c2, ptr %pc, align 8
  store i64 %d2, ptr %pd, align 8
  ret void
}

define void @blake2f(i64 %rounds, ptr %h, ptr %m, i64 %t0, i64 %t1, i64 %final_mask) {
entry:
  %v = alloca [16 x i64], align 8
  ; v[0..8] = h, v[8..16] = IV
  call void @llvm.memcpy.p0.p0.i64(ptr %v, ptr %h, i64 64, i1 false)
  %vi8 = getelementptr [16 x i64], ptr %v, i64 0, i64 8
  store i64 7640891576956012808, ptr %vi8, align 8
  %vi9 = getelementptr [16 x i64], ptr %v, i64 0, i64 9
  store i64 -4942790177534073029, ptr %vi9, align 8
  %vi10 = getelementptr [16 x i64], ptr %v, i64 0, i64 10
  store i64 4354685564936845355, ptr %vi10, align 8
  %vi11 = getelementptr [16 x i64], ptr %v, i64 0, i64 11
  store i64 -6534734903238641935, ptr %vi11, align 8
  %vi12 = getelementptr [16 x i64], ptr %v, i64 0, i64 12
  store i64 5840696475078001361, ptr %vi12, align 8
  %vi13 = getelementptr [16 x i64], ptr %v, i64 0, i64 13
  store i64 -7276294671716946913, ptr %vi13, align 8
  %vi14 = getelementptr [16 x i64], ptr %v, i64 0, i64 14
  store i64 2270897969802886507, ptr %vi14, align 8
  %vi15 = getelementptr [16 x i64], ptr %v, i64 0, i64 15
  store i64 6620516959819538809, ptr %vi15, align 8
  ; v[12] ^= t0, v[13] ^= t1, v[14] ^= final_mask
  %p12 = getelementptr [16 x i64], ptr %v, i64 0, i64 12
  %v12 = load i64, ptr %p12, align 8
  %x12 = xor i64 %v12, %t0
  store i64 %x12, ptr %p12, align 8
  %p13 = getelementptr [16 x i64], ptr %v, i64 0, i64 13
  %v13 = load i64, ptr %p13, align 8
  %x13 = xor i64 %v13, %t1
  store i64 %x13, ptr %p13, align 8
  %p14 = getelementptr [16 x i64], ptr %v, i64 0, i64 14
  %v14 = load i64, ptr %p14, align 8
  %x14 = xor i64 %v14, %final_mask
  store i64 %x14, ptr %p14, align 8
  br label %loop

loop:
  %r = phi i64 [ 0, %entry ], [ %r1, %body ]
  %more = icmp ult i64 %r, %rounds
  br i1 %more, label %body, label %done

body:
  %row = urem i64 %r, 10
  ; columns, then diagonals
  call void @g(ptr %v, ptr %m, i64 %row, i64 0, i64 4, i64 8, i64 12, i64 0)
  call void @g(ptr %v, ptr %m, i64 %row, i64 1, i64 5, i64 9, i64 13, i64 2)
  call void @g(ptr %v, ptr %m, i64 %row, i64 2, i64 6, i64 10, i64 14, i64 4)
  call void @g(ptr %v, ptr %m, i64 %row, i64 3, i64 7, i64 11, i64 15, i64 6)
  call void @g(ptr %v, ptr %m, i64 %row, i64 0, i64 5, i64 10, i64 15, i64 8)
  call void @g(ptr %v, ptr %m, i64 %row, i64 1, i64 6, i64 11, i64 12, i64 10)
  call void @g(ptr %v, ptr %m, i64 %row, i64 2, i64 7, i64 8, i64 13, i64 12)
  call void @g(ptr %v, ptr %m, i64 %row, i64 3, i64 4, i64 9, i64 14, i64 14)
  %r1 = add i64 %r, 1
  br label %loop

done:
  ; h[i] ^= v[i] ^ v[i + 8]
  %hp0 = getelementptr i64, ptr %h, i64 0
  %h0 = load i64, ptr %hp0, align 8
  %lp0 = getelementptr [16 x i64], ptr %v, i64 0, i64 0
  %l0 = load i64, ptr %lp0, align 8
  %up0 = getelementptr [16 x i64], ptr %v, i64 0, i64 8
  %u0 = load i64, ptr %up0, align 8
  %lu0 = xor i64 %l0, %u0
  %n0 = xor i64 %h0, %lu0
  store i64 %n0, ptr %hp0, align 8
  %hp1 = getelementptr i64, ptr %h, i64 1
  %h1 = load i64, ptr %hp1, align 8
  %lp1 = getelementptr [16 x i64], ptr %v, i64 0, i64 1
  %l1 = load i64, ptr %lp1, align 8
  %up1 = getelementptr [16 x i64], ptr %v, i64 0, i64 9
  %u1 = load i64, ptr %up1, align 8
  %lu1 = xor i64 %l1, %u1
  %n1 = xor i64 %h1, %lu1
  store i64 %n1, ptr %hp1, align 8
  %hp2 = getelementptr i64, ptr %h, i64 2
  %h2 = load i64, ptr %hp2, align 8
  %lp2 = getelementptr [16 x i64], ptr %v, i64 0, i64 2
  %l2 = load i64, ptr %lp2, align 8
  %up2 = getelementptr [16 x i64], ptr %v, i64 0, i64 10
  %u2 = load i64, ptr %up2, align 8
  %lu2 = xor i64 %l2, %u2
  %n2 = xor i64 %h2, %lu2
  store i64 %n2, ptr %hp2, align 8
  %hp3 = getelementptr i64, ptr %h, i64 3
  %h3 = load i64, ptr %hp3, align 8
  %lp3 = getelementptr [16 x i64], ptr %v, i64 0, i64 3
  %l3 = load i64, ptr %lp3, align 8
  %up3 = getelementptr [16 x i64], ptr %v, i64 0, i64 11
  %u3 = load i64, ptr %up3, align 8
  %lu3 = xor i64 %l3, %u3
  %n3 = xor i64 %h3, %lu3
  store i64 %n3, ptr %hp3, align 8
  %hp4 = getelementptr i64, ptr %h, i64 4
  %h4 = load i64, ptr %hp4, align 8
  %lp4 = getelementptr [16 x i64], ptr %v, i64 0, i64 4
  %l4 = load i64, ptr %lp4, align 8
  %up4 = getelementptr [16 x i64], ptr %v, i64 0, i64 12
  %u4 = load i64, ptr %up4, align 8
  %lu4 = xor i64 %l4, %u4
  %n4 = xor i64 %h4, %lu4
  store i64 %n4, ptr %hp4, align 8
  %hp5 = getelementptr i64, ptr %h, i64 5
  %h5 = load i64, ptr %hp5, align 8
  %lp5 = getelementptr [16 x i64], ptr %v, i64 0, i64 5
  %l5 = load i64, ptr %lp5, align 8
  %up5 = getelementptr [16 x i64], ptr %v, i64 0, i64 13
  %u5 = load i64, ptr %up5, align 8
  %lu5 = xor i64 %l5, %u5
  %n5 = xor i64 %h5, %lu5
  store i64 %n5, ptr %hp5, align 8
  %hp6 = getelementptr i64, ptr %h, i64 6
  %h6 = load i64, ptr %hp6, align 8
  %lp6 = getelementptr [16 x i64], ptr %v, i64 0, i64 6
  %l6 = load i64, ptr %lp6, align 8
  %up6 = getelementptr [16 x i64], ptr %v, i64 0, i64 14
  %u6 = load i64, ptr %up6, align 8
  %lu6 = xor i64 %l6, %u6
  %n6 = xor i64 %h6, %lu6
  store i64 %n6, ptr %hp6, align 8
  %hp7 = getelementptr i64, ptr %h, i64 7
  %h7 = load i64, ptr %hp7, align 8
  %lp7 = getelementptr [16 x i64], ptr %v, i64 0, i64 7
  %l7 = load i64, ptr %lp7, align 8
  %up7 = getelementptr [16 x i64], ptr %v, i64 0, i64 15
  %u7 = load i64, ptr %up7, align 8
  %lu7 = xor i64 %l7, %u7
  %n7 = xor i64 %h7, %lu7
  store i64 %n7, ptr %hp7, align 8
  ret void
}

declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
