; The 256-bit division family of the runtime (DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD semantics:
; x/0 = 0, MIN/-1 = MIN, x%0 = 0).
;
; On x86-64: Knuth's algorithm D on 64-bit digits (Hacker's Delight `divmnu64`) with the 128-by-64
; DIV instruction as inline asm, plus a one-instruction path when both operands fit in 64 bits.
; MULMOD reduces the 512-bit product, ADDMOD the 257-bit sum. LLVM's own expansion of 256/512-bit
; division (`ExpandLargeDivRem`, a bit-serial loop) is ~50x slower and is only the portable fallback.

; 128-by-64 division (quotient must fit in 64 bits): x86-64 DIV
define internal { i64, i64 } @divq(i64 %lo, i64 %hi, i64 %d) alwaysinline {
  %r = call { i64, i64 } asm "divq $4", "={ax},={dx},0,1,r,~{dirflag},~{fpsr},~{flags}"(i64 %lo, i64 %hi, i64 %d)
  ret { i64, i64 } %r
}

; Knuth algorithm D on 64-bit digits (Hacker's Delight divmnu64). u: m digits, v: n digits with
; v[n-1] != 0, 1 <= n <= m <= 8. Writes q (m-n+1 digits) and r (n digits).
define internal void @knuth(ptr %u, i32 %m, ptr %v, i32 %n, ptr %q, ptr %r) {
entry:
  %un = alloca [10 x i64], align 8
  %vn = alloca [4 x i64], align 8
  %n1 = sub i32 %n, 1
  %isone = icmp eq i32 %n, 1
  br i1 %isone, label %single, label %norm

single:
  %v0p = getelementptr i64, ptr %v, i32 0
  %v0 = load i64, ptr %v0p
  %m1s = sub i32 %m, 1
  br label %sloop
sloop:
  %sj = phi i32 [ %m1s, %single ], [ %sj2, %sbody ]
  %srem = phi i64 [ 0, %single ], [ %srem2, %sbody ]
  %sdone = icmp slt i32 %sj, 0
  br i1 %sdone, label %sout, label %sbody
sbody:
  %sup = getelementptr i64, ptr %u, i32 %sj
  %su = load i64, ptr %sup
  %sd = call { i64, i64 } @divq(i64 %su, i64 %srem, i64 %v0)
  %sq = extractvalue { i64, i64 } %sd, 0
  %srem2 = extractvalue { i64, i64 } %sd, 1
  %sqp = getelementptr i64, ptr %q, i32 %sj
  store i64 %sq, ptr %sqp
  %sj2 = sub i32 %sj, 1
  br label %sloop
sout:
  store i64 %srem, ptr %r
  ret void

norm:
  %vtopp = getelementptr i64, ptr %v, i32 %n1
  %vtop = load i64, ptr %vtopp
  %s = call i64 @llvm.ctlz.i64(i64 %vtop, i1 true)
  ; vn[i] = fshl(v[i], v[i-1], s) for i = n-1 .. 1; vn[0] = v[0] << s
  br label %vloop
vloop:
  %vi = phi i32 [ %n1, %norm ], [ %vi2, %vbody ]
  %vdone = icmp eq i32 %vi, 0
  br i1 %vdone, label %vlast, label %vbody
vbody:
  %vip = getelementptr i64, ptr %v, i32 %vi
  %vi2 = sub i32 %vi, 1
  %vimp = getelementptr i64, ptr %v, i32 %vi2
  %va = load i64, ptr %vip
  %vb = load i64, ptr %vimp
  %vs = call i64 @llvm.fshl.i64(i64 %va, i64 %vb, i64 %s)
  %vnp = getelementptr i64, ptr %vn, i32 %vi
  store i64 %vs, ptr %vnp
  br label %vloop
vlast:
  %v00 = load i64, ptr %v
  %v0s = shl i64 %v00, %s
  store i64 %v0s, ptr %vn
  ; un[m] = u[m-1] >> (64-s) == fshl(0, u[m-1], s); un[i] = fshl(u[i], u[i-1], s); un[0] = u[0] << s
  %m1 = sub i32 %m, 1
  %utopp = getelementptr i64, ptr %u, i32 %m1
  %utop = load i64, ptr %utopp
  %untop = call i64 @llvm.fshl.i64(i64 0, i64 %utop, i64 %s)
  %untopp = getelementptr i64, ptr %un, i32 %m
  store i64 %untop, ptr %untopp
  br label %uloop
uloop:
  %ui = phi i32 [ %m1, %vlast ], [ %ui2, %ubody ]
  %udone = icmp eq i32 %ui, 0
  br i1 %udone, label %ulast, label %ubody
ubody:
  %uip = getelementptr i64, ptr %u, i32 %ui
  %ui2 = sub i32 %ui, 1
  %uimp = getelementptr i64, ptr %u, i32 %ui2
  %ua = load i64, ptr %uip
  %ub = load i64, ptr %uimp
  %us = call i64 @llvm.fshl.i64(i64 %ua, i64 %ub, i64 %s)
  %unp = getelementptr i64, ptr %un, i32 %ui
  store i64 %us, ptr %unp
  br label %uloop
ulast:
  %u00 = load i64, ptr %u
  %u0s = shl i64 %u00, %s
  store i64 %u0s, ptr %un
  %vnt_p = getelementptr i64, ptr %vn, i32 %n1
  %vnt = load i64, ptr %vnt_p          ; vn[n-1]
  %n2 = sub i32 %n, 2
  %vnt2_p = getelementptr i64, ptr %vn, i32 %n2
  %vnt2 = load i64, ptr %vnt2_p        ; vn[n-2]
  %vnt128 = zext i64 %vnt to i128
  %vnt2_128 = zext i64 %vnt2 to i128
  %jstart = sub i32 %m, %n
  br label %jloop

jloop:
  %j = phi i32 [ %jstart, %ulast ], [ %jnext, %jend ]
  %jdone = icmp slt i32 %j, 0
  br i1 %jdone, label %unnorm, label %jbody
jbody:
  %jn = add i32 %j, %n
  %ujn_p = getelementptr i64, ptr %un, i32 %jn
  %ujn = load i64, ptr %ujn_p
  %jn1 = sub i32 %jn, 1
  %ujn1_p = getelementptr i64, ptr %un, i32 %jn1
  %ujn1 = load i64, ptr %ujn1_p
  %jn2 = sub i32 %jn, 2
  %ujn2_p = getelementptr i64, ptr %un, i32 %jn2
  %ujn2 = load i64, ptr %ujn2_p
  %hi128 = zext i64 %ujn to i128
  %hi_s = shl i128 %hi128, 64
  %lo128 = zext i64 %ujn1 to i128
  %num = or i128 %hi_s, %lo128
  %big = icmp uge i64 %ujn, %vnt
  br i1 %big, label %qmax, label %qdiv
qmax:
  ; qhat = B-1, rhat = num - (B-1)*vn[n-1]
  %qm_p = mul i128 18446744073709551615, %vnt128
  %qm_r = sub i128 %num, %qm_p
  br label %qest
qdiv:
  %qd = call { i64, i64 } @divq(i64 %ujn1, i64 %ujn, i64 %vnt)
  %qd_q = extractvalue { i64, i64 } %qd, 0
  %qd_r = extractvalue { i64, i64 } %qd, 1
  %qd_q128 = zext i64 %qd_q to i128
  %qd_r128 = zext i64 %qd_r to i128
  br label %qest
qest:
  %qhat0 = phi i128 [ 18446744073709551615, %qmax ], [ %qd_q128, %qdiv ]
  %rhat0 = phi i128 [ %qm_r, %qmax ], [ %qd_r128, %qdiv ]
  %ujn2_128 = zext i64 %ujn2 to i128
  br label %corr
corr:
  %qhat = phi i128 [ %qhat0, %qest ], [ %qhat_d, %cdec ]
  %rhat = phi i128 [ %rhat0, %qest ], [ %rhat_i, %cdec ]
  %rsmall = icmp ult i128 %rhat, 18446744073709551616
  br i1 %rsmall, label %ctest, label %mulsub
ctest:
  %lhs = mul i128 %qhat, %vnt2_128
  %rs = shl i128 %rhat, 64
  %rhs = or i128 %rs, %ujn2_128
  %over = icmp ugt i128 %lhs, %rhs
  br i1 %over, label %cdec, label %mulsub
cdec:
  %qhat_d = sub i128 %qhat, 1
  %rhat_i = add i128 %rhat, %vnt128
  br label %corr

mulsub:
  br label %msloop
msloop:
  %mi = phi i32 [ 0, %mulsub ], [ %mi2, %msbody ]
  %k = phi i128 [ 0, %mulsub ], [ %k2, %msbody ]
  %mdone = icmp eq i32 %mi, %n
  br i1 %mdone, label %msend, label %msbody
msbody:
  %vni_p = getelementptr i64, ptr %vn, i32 %mi
  %vni = load i64, ptr %vni_p
  %vni128 = zext i64 %vni to i128
  %p = mul i128 %qhat, %vni128
  %ij = add i32 %mi, %j
  %unij_p = getelementptr i64, ptr %un, i32 %ij
  %unij = load i64, ptr %unij_p
  %unij128 = zext i64 %unij to i128
  %plo = and i128 %p, 18446744073709551615
  %t1 = sub i128 %unij128, %k
  %t = sub i128 %t1, %plo
  %tlo = trunc i128 %t to i64
  store i64 %tlo, ptr %unij_p
  %phi_ = lshr i128 %p, 64
  %tsh = ashr i128 %t, 64
  %k2 = sub i128 %phi_, %tsh
  %mi2 = add i32 %mi, 1
  br label %msloop
msend:
  %ujn_now = load i64, ptr %ujn_p
  %ujn_now128 = zext i64 %ujn_now to i128
  %tt = sub i128 %ujn_now128, %k
  %ttlo = trunc i128 %tt to i64
  store i64 %ttlo, ptr %ujn_p
  %qj_p = getelementptr i64, ptr %q, i32 %j
  %qhat64 = trunc i128 %qhat to i64
  %neg = icmp slt i128 %tt, 0
  br i1 %neg, label %addback, label %jend_store
addback:
  %qhat64d = sub i64 %qhat64, 1
  br label %abloop
abloop:
  %ai = phi i32 [ 0, %addback ], [ %ai2, %abbody ]
  %ak = phi i128 [ 0, %addback ], [ %ak2, %abbody ]
  %adone = icmp eq i32 %ai, %n
  br i1 %adone, label %abend, label %abbody
abbody:
  %avn_p = getelementptr i64, ptr %vn, i32 %ai
  %avn = load i64, ptr %avn_p
  %aij = add i32 %ai, %j
  %aun_p = getelementptr i64, ptr %un, i32 %aij
  %aun = load i64, ptr %aun_p
  %avn128 = zext i64 %avn to i128
  %aun128 = zext i64 %aun to i128
  %as1 = add i128 %aun128, %avn128
  %as = add i128 %as1, %ak
  %aslo = trunc i128 %as to i64
  store i64 %aslo, ptr %aun_p
  %ak2 = lshr i128 %as, 64
  %ai2 = add i32 %ai, 1
  br label %abloop
abend:
  %ujn_ab = load i64, ptr %ujn_p
  %ak64 = trunc i128 %ak to i64
  %ujn_ab2 = add i64 %ujn_ab, %ak64
  store i64 %ujn_ab2, ptr %ujn_p
  br label %jend_store
jend_store:
  %qfinal = phi i64 [ %qhat64, %msend ], [ %qhat64d, %abend ]
  store i64 %qfinal, ptr %qj_p
  br label %jend
jend:
  %jnext = sub i32 %j, 1
  br label %jloop

unnorm:
  ; r[i] = fshr(un[i+1], un[i], s) for i < n
  br label %rloop
rloop:
  %ri = phi i32 [ 0, %unnorm ], [ %ri2, %rbody ]
  %rdone = icmp eq i32 %ri, %n
  br i1 %rdone, label %rout, label %rbody
rbody:
  %ri2 = add i32 %ri, 1
  %rlo_p = getelementptr i64, ptr %un, i32 %ri
  %rhi_p = getelementptr i64, ptr %un, i32 %ri2
  %rlo = load i64, ptr %rlo_p
  %rhi = load i64, ptr %rhi_p
  %rv = call i64 @llvm.fshr.i64(i64 %rhi, i64 %rlo, i64 %s)
  %rp = getelementptr i64, ptr %r, i32 %ri
  store i64 %rv, ptr %rp
  br label %rloop
rout:
  ret void
}

; number of significant 64-bit digits of an i256 / i512 value stored in memory (>= 1)
define internal i32 @digits(ptr %p, i32 %len) alwaysinline {
entry:
  br label %loop
loop:
  %i = phi i32 [ %len, %entry ], [ %i2, %cont ]
  %one = icmp ule i32 %i, 1
  br i1 %one, label %out1, label %cont0
cont0:
  %i2 = sub i32 %i, 1
  %pp = getelementptr i64, ptr %p, i32 %i2
  %v = load i64, ptr %pp
  %nz = icmp ne i64 %v, 0
  br i1 %nz, label %outi, label %cont
cont:
  br label %loop
outi:
  ret i32 %i
out1:
  ret i32 1
}

; a mod n / a div n for a of `ulen` digits (stored at %u) and n an i256 (non-zero)
define internal void @divmod_words(ptr %u, i32 %ulen, i256 %d, ptr %q, ptr %r) {
entry:
  %vbuf = alloca i256, align 8
  store i256 %d, ptr %vbuf
  %n = call i32 @digits(ptr %vbuf, i32 4)
  %m = call i32 @digits(ptr %u, i32 %ulen)
  %small = icmp ult i32 %m, %n
  br i1 %small, label %lt, label %div
lt:
  ; dividend shorter than divisor: q = 0, r = u (the first 4 digits)
  call void @llvm.memcpy.p0.p0.i64(ptr %r, ptr %u, i64 32, i1 false)
  ret void
div:
  call void @knuth(ptr %u, i32 %m, ptr %vbuf, i32 %n, ptr %q, ptr %r)
  ret void
}

declare i64 @llvm.ctlz.i64(i64, i1)
declare i64 @llvm.fshr.i64(i64, i64, i64)

define i256 @rt_udiv(i256 %a, i256 %b) {
entry:
  %z = icmp eq i256 %b, 0
  br i1 %z, label %zero, label %nz
zero:
  ret i256 0
nz:
  %small = icmp ult i256 %a, 18446744073709551616
  %bsmall = icmp ult i256 %b, 18446744073709551616
  %both = and i1 %small, %bsmall
  br i1 %both, label %fast, label %slow
fast:
  %a64 = trunc i256 %a to i64
  %b64 = trunc i256 %b to i64
  %q64 = udiv i64 %a64, %b64
  %q = zext i64 %q64 to i256
  ret i256 %q
slow:
  %lt = icmp ult i256 %a, %b
  br i1 %lt, label %zero, label %long
long:
  %ubuf = alloca i256, align 8
  %qbuf = alloca [5 x i64], align 8
  %rbuf = alloca [4 x i64], align 8
  store i256 %a, ptr %ubuf
  call void @llvm.memset.p0.i64(ptr %qbuf, i8 0, i64 40, i1 false)
  call void @divmod_words(ptr %ubuf, i32 4, i256 %b, ptr %qbuf, ptr %rbuf)
  %qv = load i256, ptr %qbuf
  ret i256 %qv
}

define i256 @rt_umod(i256 %a, i256 %b) {
entry:
  %z = icmp eq i256 %b, 0
  br i1 %z, label %zero, label %nz
zero:
  ret i256 0
nz:
  %small = icmp ult i256 %a, 18446744073709551616
  %bsmall = icmp ult i256 %b, 18446744073709551616
  %both = and i1 %small, %bsmall
  br i1 %both, label %fast, label %slow
fast:
  %a64 = trunc i256 %a to i64
  %b64 = trunc i256 %b to i64
  %r64 = urem i64 %a64, %b64
  %r = zext i64 %r64 to i256
  ret i256 %r
slow:
  %lt = icmp ult i256 %a, %b
  br i1 %lt, label %ret_a, label %long
ret_a:
  ret i256 %a
long:
  %ubuf = alloca i256, align 8
  %qbuf = alloca [5 x i64], align 8
  %rbuf = alloca [4 x i64], align 8
  store i256 %a, ptr %ubuf
  call void @llvm.memset.p0.i64(ptr %rbuf, i8 0, i64 32, i1 false)
  call void @divmod_words(ptr %ubuf, i32 4, i256 %b, ptr %qbuf, ptr %rbuf)
  %rv = load i256, ptr %rbuf
  ret i256 %rv
}

define i256 @rt_sdiv(i256 %a, i256 %b) {
entry:
  %z = icmp eq i256 %b, 0
  br i1 %z, label %zero, label %nz
zero:
  ret i256 0
nz:
  %an = icmp slt i256 %a, 0
  %bn = icmp slt i256 %b, 0
  %na = sub i256 0, %a
  %nb = sub i256 0, %b
  %aa = select i1 %an, i256 %na, i256 %a
  %ab = select i1 %bn, i256 %nb, i256 %b
  %q = call i256 @rt_udiv(i256 %aa, i256 %ab)
  %sn = xor i1 %an, %bn
  %nq = sub i256 0, %q
  %r = select i1 %sn, i256 %nq, i256 %q
  ret i256 %r
}

define i256 @rt_smod(i256 %a, i256 %b) {
entry:
  %z = icmp eq i256 %b, 0
  br i1 %z, label %zero, label %nz
zero:
  ret i256 0
nz:
  %an = icmp slt i256 %a, 0
  %bn = icmp slt i256 %b, 0
  %na = sub i256 0, %a
  %nb = sub i256 0, %b
  %aa = select i1 %an, i256 %na, i256 %a
  %ab = select i1 %bn, i256 %nb, i256 %b
  %m = call i256 @rt_umod(i256 %aa, i256 %ab)
  %nm = sub i256 0, %m
  %r = select i1 %an, i256 %nm, i256 %m
  ret i256 %r
}

define i256 @rt_addmod(i256 %a, i256 %b, i256 %n) {
entry:
  %z = icmp eq i256 %n, 0
  br i1 %z, label %zero, label %nz
zero:
  ret i256 0
nz:
  %a2 = zext i256 %a to i512
  %b2 = zext i256 %b to i512
  %s = add i512 %a2, %b2
  %ubuf = alloca i512, align 8
  %qbuf = alloca [9 x i64], align 8
  %rbuf = alloca [4 x i64], align 8
  store i512 %s, ptr %ubuf
  call void @llvm.memset.p0.i64(ptr %rbuf, i8 0, i64 32, i1 false)
  call void @divmod_words(ptr %ubuf, i32 5, i256 %n, ptr %qbuf, ptr %rbuf)
  %rv = load i256, ptr %rbuf
  ret i256 %rv
}

define i256 @rt_mulmod(i256 %a, i256 %b, i256 %n) {
entry:
  %z = icmp eq i256 %n, 0
  br i1 %z, label %zero, label %nz
zero:
  ret i256 0
nz:
  %a2 = zext i256 %a to i512
  %b2 = zext i256 %b to i512
  %s = mul i512 %a2, %b2
  %ubuf = alloca i512, align 8
  %qbuf = alloca [9 x i64], align 8
  %rbuf = alloca [4 x i64], align 8
  store i512 %s, ptr %ubuf
  call void @llvm.memset.p0.i64(ptr %rbuf, i8 0, i64 32, i1 false)
  call void @divmod_words(ptr %ubuf, i32 8, i256 %n, ptr %qbuf, ptr %rbuf)
  %rv = load i256, ptr %rbuf
  ret i256 %rv
}

