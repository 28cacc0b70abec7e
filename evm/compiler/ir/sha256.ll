; SHA-256 and the native precompile call of the runtime (part of the runtime module: ir/__init__.py).
;
; * ``rt_sha256(data, len, out)``: SHA-256 (FIPS 180-4): OpenSSL's ``SHA256`` for inputs of two blocks
;   or more (bound at JIT load by precompile_calls.bind), the compression function of sha256_block.ll (its
;   64 rounds and message schedule unrolled into SSA values) for one block, and for every input when
;   libcrypto was not found.
; * ``rt_precompile(ctx, gas, addr, req, in_off, in_size, out_off, out_size) -> i64``: a CALL*
;   without value to a precompile whose bit is set in the context's PC_MASK (see docs/compiler.md,
;   "Native precompile calls"): IDENTITY (0x04), SHA256 (0x02) and RIPEMD160 (0x03, libcrypto) without
;   leaving native code, the others through one Python callback (precompile_calls.lean_call). Returns 2
;   when it does not apply (the caller then takes the generic Python host path), else the success flag
;   (1/0) with the caller's new gas stored in ctx GAS.

declare i32 @llvm.fshr.i32(i32, i32, i32)
declare i32 @llvm.bswap.i32(i32)
declare i64 @llvm.bswap.i64(i64)

; Set at JIT load (precompile_calls.bind): libcrypto's SHA256 and RIPEMD160 (null when not found) and
; the Python callback for the other precompiles.
@rt_sha256_lib = global ptr null
@rt_ripemd160_lib = global ptr null
@rt_precompile_py = global ptr null

; SHA-256: libcrypto from two blocks on; one block (< 56 bytes) here, where the unrolled compression
; beats the library call's fixed cost (see docs/compiler.md, "Native precompile calls")
define void @rt_sha256(ptr %data, i64 %len, ptr %out) {
entry:
  %one = icmp ult i64 %len, 56
  br i1 %one, label %ir, label %lib
lib:
  %fn = load ptr, ptr @rt_sha256_lib, align 8
  %has = icmp ne ptr %fn, null
  br i1 %has, label %call, label %ir
call:
  %r = call ptr %fn(ptr %data, i64 %len, ptr %out)
  ret void
ir:
  call void @sha256_ir(ptr %data, i64 %len, ptr %out)
  ret void
}

define internal void @sha256_ir(ptr %data, i64 %len, ptr %out) {
entry:
  %st = alloca [8 x i32], align 4
  %buf = alloca [128 x i8], align 8
  %hp0 = getelementptr i32, ptr %st, i64 0
  store i32 1779033703, ptr %hp0, align 4
  %hp1 = getelementptr i32, ptr %st, i64 1
  store i32 -1150833019, ptr %hp1, align 4
  %hp2 = getelementptr i32, ptr %st, i64 2
  store i32 1013904242, ptr %hp2, align 4
  %hp3 = getelementptr i32, ptr %st, i64 3
  store i32 -1521486534, ptr %hp3, align 4
  %hp4 = getelementptr i32, ptr %st, i64 4
  store i32 1359893119, ptr %hp4, align 4
  %hp5 = getelementptr i32, ptr %st, i64 5
  store i32 -1694144372, ptr %hp5, align 4
  %hp6 = getelementptr i32, ptr %st, i64 6
  store i32 528734635, ptr %hp6, align 4
  %hp7 = getelementptr i32, ptr %st, i64 7
  store i32 1541459225, ptr %hp7, align 4
  br label %loop
loop:
  %p = phi ptr [ %data, %entry ], [ %p2, %blk ]
  %l = phi i64 [ %len, %entry ], [ %l2, %blk ]
  %full = icmp uge i64 %l, 64
  br i1 %full, label %blk, label %last
blk:
  call void @sha256_block(ptr %st, ptr %p)
  %p2 = getelementptr i8, ptr %p, i64 64
  %l2 = sub i64 %l, 64
  br label %loop
last:
  ; tail, 0x80, zeros, 64-bit big-endian bit length: one block when the tail is < 56 bytes
  call void @llvm.memset.p0.i64(ptr %buf, i8 0, i64 128, i1 false)
  call void @llvm.memcpy.p0.p0.i64(ptr %buf, ptr %p, i64 %l, i1 false)
  %mp = getelementptr i8, ptr %buf, i64 %l
  store i8 -128, ptr %mp
  %two = icmp uge i64 %l, 56
  %nb = select i1 %two, i64 128, i64 64
  %lenp_off = sub i64 %nb, 8
  %lenp = getelementptr i8, ptr %buf, i64 %lenp_off
  %bits = shl i64 %len, 3
  %bitsbe = call i64 @llvm.bswap.i64(i64 %bits)
  store i64 %bitsbe, ptr %lenp, align 1
  call void @sha256_block(ptr %st, ptr %buf)
  br i1 %two, label %second, label %done
second:
  %b2 = getelementptr i8, ptr %buf, i64 64
  call void @sha256_block(ptr %st, ptr %b2)
  br label %done
done:
  %fp0 = getelementptr i32, ptr %st, i64 0
  %fv0 = load i32, ptr %fp0, align 4
  %fs0 = call i32 @llvm.bswap.i32(i32 %fv0)
  %fo0 = getelementptr i8, ptr %out, i64 0
  store i32 %fs0, ptr %fo0, align 1
  %fp1 = getelementptr i32, ptr %st, i64 1
  %fv1 = load i32, ptr %fp1, align 4
  %fs1 = call i32 @llvm.bswap.i32(i32 %fv1)
  %fo1 = getelementptr i8, ptr %out, i64 4
  store i32 %fs1, ptr %fo1, align 1
  %fp2 = getelementptr i32, ptr %st, i64 2
  %fv2 = load i32, ptr %fp2, align 4
  %fs2 = call i32 @llvm.bswap.i32(i32 %fv2)
  %fo2 = getelementptr i8, ptr %out, i64 8
  store i32 %fs2, ptr %fo2, align 1
  %fp3 = getelementptr i32, ptr %st, i64 3
  %fv3 = load i32, ptr %fp3, align 4
  %fs3 = call i32 @llvm.bswap.i32(i32 %fv3)
  %fo3 = getelementptr i8, ptr %out, i64 12
  store i32 %fs3, ptr %fo3, align 1
  %fp4 = getelementptr i32, ptr %st, i64 4
  %fv4 = load i32, ptr %fp4, align 4
  %fs4 = call i32 @llvm.bswap.i32(i32 %fv4)
  %fo4 = getelementptr i8, ptr %out, i64 16
  store i32 %fs4, ptr %fo4, align 1
  %fp5 = getelementptr i32, ptr %st, i64 5
  %fv5 = load i32, ptr %fp5, align 4
  %fs5 = call i32 @llvm.bswap.i32(i32 %fv5)
  %fo5 = getelementptr i8, ptr %out, i64 20
  store i32 %fs5, ptr %fo5, align 1
  %fp6 = getelementptr i32, ptr %st, i64 6
  %fv6 = load i32, ptr %fp6, align 4
  %fs6 = call i32 @llvm.bswap.i32(i32 %fv6)
  %fo6 = getelementptr i8, ptr %out, i64 24
  store i32 %fs6, ptr %fo6, align 1
  %fp7 = getelementptr i32, ptr %st, i64 7
  %fv7 = load i32, ptr %fp7, align 4
  %fs7 = call i32 @llvm.bswap.i32(i32 %fv7)
  %fo7 = getelementptr i8, ptr %out, i64 28
  store i32 %fs7, ptr %fo7, align 1
  ret void
}

; CALL* to a precompile (see the module docstring). addr: the address operand when < 64, else 255
; (and 255 for a CALL/CALLCODE with value); req: the gas operand clamped to 2**63-1; offsets are only
; meaningful when their size is non-zero (memory was expanded over both ranges by the caller).
define i64 @rt_precompile(ptr %ctx, i64 %gas, i64 %addr, i64 %req, i64 %in_off, i64 %in_size,
                          i64 %out_off, i64 %out_size) {
entry:
  ; for the Host's path, when declined (layout CALL_ARGS)
  %ca0 = getelementptr i8, ptr %ctx, i64 {{CALL_ARGS}}
  store i64 %req, ptr %ca0, align 8
  %ca1 = getelementptr i8, ptr %ca0, i64 8
  store i64 %in_off, ptr %ca1, align 8
  %ca2 = getelementptr i8, ptr %ca0, i64 16
  store i64 %in_size, ptr %ca2, align 8
  %ca3 = getelementptr i8, ptr %ca0, i64 24
  store i64 %out_off, ptr %ca3, align 8
  %ca4 = getelementptr i8, ptr %ca0, i64 32
  store i64 %out_size, ptr %ca4, align 8
  %small = icmp ult i64 %addr, 64
  br i1 %small, label %mask, label %python
mask:
  %mkp = getelementptr i8, ptr %ctx, i64 {{PC_MASK}}
  %mk = load i64, ptr %mkp, align 8
  %mb = lshr i64 %mk, %addr
  %bit = trunc i64 %mb to i1
  %fp = getelementptr i8, ptr %ctx, i64 {{FRAME}}
  %depth = load i64, ptr %fp, align 8
  %deep = icmp sge i64 %depth, 1024
  %go = xor i1 %deep, true
  %ok = and i1 %bit, %go
  br i1 %ok, label %charge, label %python
charge:
  ; EIP-150: the child gets min(req, gas - gas/64); the precompile's cost comes out of it
  %g64 = lshr i64 %gas, 6
  %avail = sub i64 %gas, %g64
  %child = call i64 @llvm.umin.i64(i64 %req, i64 %avail)
  %g1 = sub i64 %gas, %child
  %w1 = add i64 %in_size, 31
  %words = lshr i64 %w1, 5
  %gp = getelementptr i8, ptr %ctx, i64 {{GAS}}
  %rlp = getelementptr i8, ptr %ctx, i64 {{RD_LEN}}
  %rpp = getelementptr i8, ptr %ctx, i64 {{RD_PTR}}
  %mpp = getelementptr i8, ptr %ctx, i64 {{MEM_PTR}}
  %hasin = icmp ne i64 %in_size, 0
  %io = select i1 %hasin, i64 %in_off, i64 0
  switch i64 %addr, label %lean [ i64 2, label %k_sha
                                  i64 3, label %k_rmd
                                  i64 4, label %k_id ]
k_sha:
  %c2w = mul i64 %words, 12
  %c2 = add i64 %c2w, 60
  br label %native
k_rmd:
  %rfn0 = load ptr, ptr @rt_ripemd160_lib, align 8
  %nolib = icmp eq ptr %rfn0, null
  br i1 %nolib, label %lean, label %k_rmd2
k_rmd2:
  %c3w = mul i64 %words, 120
  %c3 = add i64 %c3w, 600
  br label %native
k_id:
  %c4w = mul i64 %words, 3
  %c4 = add i64 %c4w, 15
  br label %native
native:
  %cost = phi i64 [ %c2, %k_sha ], [ %c3, %k_rmd2 ], [ %c4, %k_id ]
  %outlen = phi i64 [ 32, %k_sha ], [ 32, %k_rmd2 ], [ %in_size, %k_id ]
  %short = icmp ugt i64 %cost, %child
  br i1 %short, label %fail, label %buffer
fail:
  ; the precompile halts: the child's gas is consumed, the return data is empty
  store i64 %g1, ptr %gp, align 8
  store i64 0, ptr %rlp, align 8
  ret i64 0
buffer:
  %buf = call ptr @buf_reserve(ptr %ctx, i64 {{RDBUF_PTR}}, i64 {{RDBUF_CAP}}, i64 %outlen, i64 0)
  %nomem = icmp eq ptr %buf, null
  br i1 %nomem, label %python, label %run
run:
  ; the output goes to the return-data buffer first: input and output ranges may overlap
  %mem = load ptr, ptr %mpp, align 8
  %inp = getelementptr i8, ptr %mem, i64 %io
  switch i64 %addr, label %copy [ i64 2, label %hash
                                  i64 3, label %rmd ]
hash:
  call void @rt_sha256(ptr %inp, i64 %in_size, ptr %buf)
  br label %result
rmd:
  ; 12 zero bytes, then the 20-byte digest
  %rfn = load ptr, ptr @rt_ripemd160_lib, align 8
  call void @llvm.memset.p0.i64(ptr %buf, i8 0, i64 12, i1 false)
  %rout = getelementptr i8, ptr %buf, i64 12
  %rr = call ptr %rfn(ptr %inp, i64 %in_size, ptr %rout)
  br label %result
copy:
  call void @llvm.memcpy.p0.p0.i64(ptr %buf, ptr %inp, i64 %in_size, i1 false)
  br label %result
result:
  store ptr %buf, ptr %rpp, align 8
  store i64 %outlen, ptr %rlp, align 8
  %g2 = add i64 %g1, %child
  %g3 = sub i64 %g2, %cost
  br label %out
lean:
  ; another precompile: its Python function through one callback (precompile_calls.lean_call), which
  ; leaves the output as the return data and answers the gas used, -1 (failed) or -2 (declined)
  %cb = load ptr, ptr @rt_precompile_py, align 8
  %nocb = icmp eq ptr %cb, null
  br i1 %nocb, label %python, label %lean_call
lean_call:
  %used = call i64 %cb(ptr %ctx, i64 %addr, i64 %child, i64 %io, i64 %in_size)
  %declined = icmp eq i64 %used, -2
  br i1 %declined, label %python, label %lean_ran
lean_ran:
  %failed = icmp slt i64 %used, 0
  br i1 %failed, label %fail, label %lean_ok
lean_ok:
  %lg = add i64 %g1, %child
  %lg2 = sub i64 %lg, %used
  br label %out
out:
  ; min(out_size, return data) bytes of the output to memory; the caller's new gas
  %gnew = phi i64 [ %g3, %result ], [ %lg2, %lean_ok ]
  %rd = load ptr, ptr %rpp, align 8
  %rdn = load i64, ptr %rlp, align 8
  %mem2 = load ptr, ptr %mpp, align 8
  %n = call i64 @llvm.umin.i64(i64 %out_size, i64 %rdn)
  %hasout = icmp ne i64 %n, 0
  %oo = select i1 %hasout, i64 %out_off, i64 0
  %outp = getelementptr i8, ptr %mem2, i64 %oo
  call void @llvm.memcpy.p0.p0.i64(ptr %outp, ptr %rd, i64 %n, i1 false)
  store i64 %gnew, ptr %gp, align 8
  ret i64 1
python:
  ret i64 2
}
