; The runtime holds the pure hot work the generated code calls through the function table of its
; frame context (so compiled contracts contain no absolute address of this process):
;
; * ``rt_mem_grow(ctx, gas, new_end) -> gas'``: memory expansion gas + growth (realloc, zero fill),
;   returns a negative number when out of gas;
; * ``rt_keccak(data, len, out)``: Keccak-256 (24-round Keccak-f[1600], unrolled);
; * ``rt_exp(base, exponent) -> i256``: square-and-multiply;
; * ``rt_copy(dst, src, src_len, src_off, n)``: copy with zero padding past the end of the source
;   (CALLDATACOPY, CODECOPY, CALLDATALOAD past the end, EXTCODECOPY...);
; * ``rt_sha256`` and ``rt_precompile`` (CALL* to a precompile): sha256.ll, with libcrypto's
;   digests and the Python callback for the other precompiles bound at load (precompile_calls.py).

declare ptr @realloc(ptr, i64)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
declare i64 @llvm.fshl.i64(i64, i64, i64)
declare i64 @llvm.umax.i64(i64, i64)
declare i64 @llvm.umin.i64(i64, i64)

; the buffer whose address is at ctx+%pf and capacity at ctx+%cf, grown (realloc, doubling, at least
; %min bytes) to hold %need bytes: its address, or null when realloc fails (the old one stays valid)
define internal ptr @buf_reserve(ptr %ctx, i64 %pf, i64 %cf, i64 %need, i64 %min) alwaysinline {
entry:
  %pp = getelementptr i8, ptr %ctx, i64 %pf
  %cp = getelementptr i8, ptr %ctx, i64 %cf
  %buf = load ptr, ptr %pp, align 8
  %cap = load i64, ptr %cp, align 8
  %grow = icmp ugt i64 %need, %cap
  br i1 %grow, label %realloc, label %done
realloc:
  %c2 = shl i64 %cap, 1
  %c3 = call i64 @llvm.umax.i64(i64 %c2, i64 %need)
  %c4 = call i64 @llvm.umax.i64(i64 %c3, i64 %min)
  %nb = call ptr @realloc(ptr %buf, i64 %c4)
  %ok = icmp ne ptr %nb, null
  br i1 %ok, label %grown, label %fail
grown:
  store ptr %nb, ptr %pp, align 8
  store i64 %c4, ptr %cp, align 8
  ret ptr %nb
done:
  ret ptr %buf
fail:
  ret ptr null
}

define i64 @rt_mem_grow(ptr %ctx, i64 %gas, i64 %end) {
entry:
  %a = add i64 %end, 31
  %newsize = and i64 %a, -32
  %msp = getelementptr i8, ptr %ctx, i64 {{MEM_SIZE}}
  %msize = load i64, ptr %msp, align 8
  %grow = icmp ugt i64 %newsize, %msize
  br i1 %grow, label %charge, label %done
charge:
  %wn = lshr i64 %newsize, 5
  %wo = lshr i64 %msize, 5
  %wn2 = mul i64 %wn, %wn
  %qn = lshr i64 %wn2, 9
  %ln = mul i64 %wn, 3
  %cn = add i64 %qn, %ln
  %wo2 = mul i64 %wo, %wo
  %qo = lshr i64 %wo2, 9
  %lo = mul i64 %wo, 3
  %co = add i64 %qo, %lo
  %cost = sub i64 %cn, %co
  %g2 = sub i64 %gas, %cost
  %oog = icmp slt i64 %g2, 0
  br i1 %oog, label %fail, label %cap
cap:
  %p = call ptr @buf_reserve(ptr %ctx, i64 {{MEM_PTR}}, i64 {{MEM_CAP}}, i64 %newsize, i64 4096)
  %nomem = icmp eq ptr %p, null
  br i1 %nomem, label %fail, label %zero
zero:
  %dst = getelementptr i8, ptr %p, i64 %msize
  %len = sub i64 %newsize, %msize
  call void @llvm.memset.p0.i64(ptr %dst, i8 0, i64 %len, i1 false)
  store i64 %newsize, ptr %msp, align 8
  ret i64 %g2
done:
  ret i64 %gas
fail:
  ret i64 -1
}

define i256 @rt_exp(i256 %base, i256 %exp) {
entry:
  br label %loop
loop:
  %r = phi i256 [ 1, %entry ], [ %r2, %next ]
  %b = phi i256 [ %base, %entry ], [ %b2, %next ]
  %e = phi i256 [ %exp, %entry ], [ %e2, %next ]
  %z = icmp eq i256 %e, 0
  br i1 %z, label %out, label %body
body:
  %bit = trunc i256 %e to i1
  %m = mul i256 %r, %b
  %r2 = select i1 %bit, i256 %m, i256 %r
  %b2 = mul i256 %b, %b
  %e2 = lshr i256 %e, 1
  br label %next
next:
  br label %loop
out:
  ret i256 %r
}

define void @rt_copy(ptr %dst, ptr %src, i64 %srclen, i256 %off, i64 %n) {
entry:
  %sl = zext i64 %srclen to i256
  %past = icmp uge i256 %off, %sl
  br i1 %past, label %zeros, label %part
zeros:
  call void @llvm.memset.p0.i64(ptr %dst, i8 0, i64 %n, i1 false)
  ret void
part:
  %o = trunc i256 %off to i64
  %avail = sub i64 %srclen, %o
  %k = call i64 @llvm.umin.i64(i64 %avail, i64 %n)
  %s = getelementptr i8, ptr %src, i64 %o
  call void @llvm.memcpy.p0.p0.i64(ptr %dst, ptr %s, i64 %k, i1 false)
  %d2 = getelementptr i8, ptr %dst, i64 %k
  %rest = sub i64 %n, %k
  call void @llvm.memset.p0.i64(ptr %d2, i8 0, i64 %rest, i1 false)
  ret void
}

define void @rt_keccak(ptr %data, i64 %len, ptr %out) {
entry:
  %st = alloca [25 x i64], align 8
  %buf = alloca [136 x i8], align 8
  call void @llvm.memset.p0.i64(ptr %st, i8 0, i64 200, i1 false)
  br label %loop
loop:
  %p = phi ptr [ %data, %entry ], [ %p2, %blk ]
  %l = phi i64 [ %len, %entry ], [ %l2, %blk ]
  %full = icmp uge i64 %l, 136
  br i1 %full, label %blk, label %last
blk:
  call void @absorb(ptr %st, ptr %p)
  call void @keccak_f(ptr %st)
  %p2 = getelementptr i8, ptr %p, i64 136
  %l2 = sub i64 %l, 136
  br label %loop
last:
  call void @llvm.memset.p0.i64(ptr %buf, i8 0, i64 136, i1 false)
  call void @llvm.memcpy.p0.p0.i64(ptr %buf, ptr %p, i64 %l, i1 false)
  %pp = getelementptr i8, ptr %buf, i64 %l
  %pv = load i8, ptr %pp
  %pv2 = xor i8 %pv, 1
  store i8 %pv2, ptr %pp
  %ep = getelementptr i8, ptr %buf, i64 135
  %ev = load i8, ptr %ep
  %ev2 = xor i8 %ev, -128
  store i8 %ev2, ptr %ep
  call void @absorb(ptr %st, ptr %buf)
  call void @keccak_f(ptr %st)
  call void @llvm.memcpy.p0.p0.i64(ptr %out, ptr %st, i64 32, i1 false)
  ret void
}
