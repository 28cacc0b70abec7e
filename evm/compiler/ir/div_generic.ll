; The portable 256-bit division family: LLVM's own expansion of wide division (bit-serial,
; ~50x slower than div_x86_64.ll); used on targets other than x86-64.

define i256 @rt_udiv(i256 %a, i256 %b) {
  %z = icmp eq i256 %b, 0
  %bs = select i1 %z, i256 1, i256 %b
  %q = udiv i256 %a, %bs
  %r = select i1 %z, i256 0, i256 %q
  ret i256 %r
}

define i256 @rt_umod(i256 %a, i256 %b) {
  %z = icmp eq i256 %b, 0
  %bs = select i1 %z, i256 1, i256 %b
  %q = urem i256 %a, %bs
  %r = select i1 %z, i256 0, i256 %q
  ret i256 %r
}

define i256 @rt_sdiv(i256 %a, i256 %b) {
  %z = icmp eq i256 %b, 0
  %m1 = icmp eq i256 %b, -1
  %min = icmp eq i256 %a, -57896044618658097711785492504343953926634992332820282019728792003956564819968
  %ovf = and i1 %m1, %min
  %bad = or i1 %z, %ovf
  %bs = select i1 %bad, i256 1, i256 %b
  %q = sdiv i256 %a, %bs
  %r = select i1 %z, i256 0, i256 %q
  ret i256 %r
}

define i256 @rt_smod(i256 %a, i256 %b) {
  %z = icmp eq i256 %b, 0
  %m1 = icmp eq i256 %b, -1
  %bad = or i1 %z, %m1
  %bs = select i1 %bad, i256 1, i256 %b
  %q = srem i256 %a, %bs
  %r = select i1 %bad, i256 0, i256 %q
  ret i256 %r
}

define i256 @rt_addmod(i256 %a, i256 %b, i256 %n) {
  %z = icmp eq i256 %n, 0
  %ns = select i1 %z, i256 1, i256 %n
  %a2 = zext i256 %a to i320
  %b2 = zext i256 %b to i320
  %n2 = zext i256 %ns to i320
  %s = add i320 %a2, %b2
  %m = urem i320 %s, %n2
  %t = trunc i320 %m to i256
  %r = select i1 %z, i256 0, i256 %t
  ret i256 %r
}

define i256 @rt_mulmod(i256 %a, i256 %b, i256 %n) {
  %z = icmp eq i256 %n, 0
  %ns = select i1 %z, i256 1, i256 %n
  %a2 = zext i256 %a to i512
  %b2 = zext i256 %b to i512
  %n2 = zext i256 %ns to i512
  %s = mul i512 %a2, %b2
  %m = urem i512 %s, %n2
  %t = trunc i512 %m to i256
  %r = select i1 %z, i256 0, i256 %t
  ret i256 %r
}

