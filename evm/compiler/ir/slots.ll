; The native slot cache and LOG buffer of the compiled backend (part of the runtime module:
; ir/__init__.py); protocol and names: runtime_slots.py. Offsets from layout.py; the SSTORE prices
; SET, RESET, WARM, CLEAR, RESTORE_SET and RESTORE_RESET are rows of evm.gas.SSTORE_TABLE.

define internal ptr @slot_entry(ptr %ctx, i64 %i) alwaysinline {
  %tp = getelementptr i8, ptr %ctx, i64 {{ST_TABLE}}
  %t = load ptr, ptr %tp, align 8
  %off = mul i64 %i, {{ST_ENTRY}}
  %e = getelementptr i8, ptr %t, i64 %off
  ret ptr %e
}

; index of the live entry (kind, key), or {{FREE}} | index of the empty entry where it would go
define internal i64 @slot_probe(ptr %ctx, i64 %kind, i256 %key) alwaysinline {
entry:
  %gp = getelementptr i8, ptr %ctx, i64 {{ST_GEN}}
  %gen = load i64, ptr %gp, align 8
  %k0 = trunc i256 %key to i64
  %s1 = lshr i256 %key, 64
  %k1 = trunc i256 %s1 to i64
  %s2 = lshr i256 %key, 128
  %k2 = trunc i256 %s2 to i64
  %s3 = lshr i256 %key, 192
  %k3 = trunc i256 %s3 to i64
  %x1 = xor i64 %k0, %k1
  %x2 = xor i64 %k2, %k3
  %x3 = xor i64 %x1, %x2
  %x4 = xor i64 %x3, %kind
  %m = mul i64 %x4, -7046029254386353131
  %i0 = lshr i64 %m, {{HASH_SHIFT}}
  br label %loop
loop:
  %i = phi i64 [ %i0, %entry ], [ %inext, %next ]
  %e = call ptr @slot_entry(ptr %ctx, i64 %i)
  %eg = load i64, ptr %e, align 8
  %live = icmp eq i64 %eg, %gen
  br i1 %live, label %check, label %empty
empty:
  %free = or i64 %i, {{FREE}}
  ret i64 %free
check:
  %kp = getelementptr i8, ptr %e, i64 {{E_KIND}}
  %ek = load i64, ptr %kp, align 8
  %keyp = getelementptr i8, ptr %e, i64 {{E_KEY}}
  %ekey = load i256, ptr %keyp, align 8
  %c1 = icmp eq i64 %ek, %kind
  %c2 = icmp eq i256 %ekey, %key
  %same = and i1 %c1, %c2
  br i1 %same, label %found, label %next
found:
  ret i64 %i
next:
  %i1 = add i64 %i, 1
  %inext = and i64 %i1, {{CAP_MASK}}
  br label %loop
}

define internal void @slot_mark_dirty(ptr %ctx, i64 %i, ptr %e) alwaysinline {
entry:
  %dp = getelementptr i8, ptr %e, i64 {{E_DIRTY}}
  %d = load i64, ptr %dp, align 8
  %clean = icmp eq i64 %d, 0
  br i1 %clean, label %mark, label %done
mark:
  store i64 1, ptr %dp, align 8
  %np = getelementptr i8, ptr %ctx, i64 {{ST_NDIRTY}}
  %n = load i64, ptr %np, align 8
  %lp = getelementptr i8, ptr %ctx, i64 {{ST_DIRTY}}
  %l = load ptr, ptr %lp, align 8
  %slot = getelementptr i64, ptr %l, i64 %n
  store i64 %i, ptr %slot, align 8
  %n1 = add i64 %n, 1
  store i64 %n1, ptr %np, align 8
  br label %done
done:
  ret void
}

; new live entry at free index %i (the table has room: checked by the caller)
define internal ptr @slot_new(ptr %ctx, i64 %i, i64 %kind, i256 %key, i256 %cur, i256 %orig) alwaysinline {
  %e = call ptr @slot_entry(ptr %ctx, i64 %i)
  %gp = getelementptr i8, ptr %ctx, i64 {{ST_GEN}}
  %gen = load i64, ptr %gp, align 8
  store i64 %gen, ptr %e, align 8
  %kp = getelementptr i8, ptr %e, i64 {{E_KIND}}
  store i64 %kind, ptr %kp, align 8
  %dp = getelementptr i8, ptr %e, i64 {{E_DIRTY}}
  store i64 0, ptr %dp, align 8
  %keyp = getelementptr i8, ptr %e, i64 {{E_KEY}}
  store i256 %key, ptr %keyp, align 8
  %cp = getelementptr i8, ptr %e, i64 {{E_CUR}}
  store i256 %cur, ptr %cp, align 8
  %op = getelementptr i8, ptr %e, i64 {{E_ORIG}}
  store i256 %orig, ptr %op, align 8
  %np = getelementptr i8, ptr %ctx, i64 {{ST_COUNT}}
  %n = load i64, ptr %np, align 8
  %n1 = add i64 %n, 1
  store i64 %n1, ptr %np, align 8
  ret ptr %e
}

define internal i1 @slot_full(ptr %ctx) alwaysinline {
  %np = getelementptr i8, ptr %ctx, i64 {{ST_COUNT}}
  %n = load i64, ptr %np, align 8
  %full = icmp uge i64 %n, {{ST_MAX}}
  ret i1 %full
}

define internal i64 @slot_load(ptr %ctx, i64 %kind) alwaysinline {
entry:
  %kp = getelementptr i8, ptr %ctx, i64 {{W0}}
  %key = load i256, ptr %kp, align 8
  %r = call i64 @slot_probe(ptr %ctx, i64 %kind, i256 %key)
  %miss = icmp uge i64 %r, {{FREE}}
  br i1 %miss, label %no, label %hit
hit:
  %e = call ptr @slot_entry(ptr %ctx, i64 %r)
  %cp = getelementptr i8, ptr %e, i64 {{E_CUR}}
  %v = load i256, ptr %cp, align 8
  %vp = getelementptr i8, ptr %ctx, i64 {{W1}}
  store i256 %v, ptr %vp, align 8
  ret i64 1
no:
  ret i64 0
}

define i64 @rt_sload(ptr %ctx) {
  %r = call i64 @slot_load(ptr %ctx, i64 0)
  ret i64 %r
}

define i64 @rt_tload(ptr %ctx) {
  %r = call i64 @slot_load(ptr %ctx, i64 1)
  ret i64 %r
}

; a cached read of another kind (layout.K_*): 1 and word 1 = the value, 0 when Python must answer
define i64 @rt_query(ptr %ctx, i64 %kind) {
  %r = call i64 @slot_load(ptr %ctx, i64 %kind)
  ret i64 %r
}

; a native store's lookup of (kind, word 0): -1 in a static frame (Python raises the error), else
; slot_probe's answer
define internal i64 @store_probe(ptr %ctx, i64 %kind) alwaysinline {
entry:
  %sp = getelementptr i8, ptr %ctx, i64 {{STATIC}}
  %st = load i64, ptr %sp, align 8
  %static = icmp ne i64 %st, 0
  br i1 %static, label %no, label %look
look:
  %kp = getelementptr i8, ptr %ctx, i64 {{W0}}
  %key = load i256, ptr %kp, align 8
  %r = call i64 @slot_probe(ptr %ctx, i64 %kind, i256 %key)
  ret i64 %r
no:
  ret i64 -1
}

define i64 @rt_sstore(ptr %ctx, i64 %gas) {
entry:
  %r = call i64 @store_probe(ptr %ctx, i64 0)
  %static = icmp eq i64 %r, -1
  br i1 %static, label %python, label %sentry
sentry:
  %low = icmp sle i64 %gas, {{STIPEND}}
  br i1 %low, label %oog, label %look
look:
  %miss = icmp uge i64 %r, {{FREE}}
  br i1 %miss, label %python, label %hit
hit:
  %left = call i64 @sstore_at(ptr %ctx, i64 %gas, i64 %r, i64 0)
  ret i64 %left
oog:
  ret i64 -1
python:
  ret i64 -2
}

; SSTORE of word 1 into the live entry %r (the EIP-2200 stipend rule already checked), priced from the table
; plus %extra (the cold surcharge of a slot just fetched: pyapi.ll rt_sstore_cold): gas left or -1
define internal i64 @sstore_at(ptr %ctx, i64 %gas, i64 %r, i64 %extra) alwaysinline {
entry:
  %vp = getelementptr i8, ptr %ctx, i64 {{W1}}
  %new = load i256, ptr %vp, align 8
  %e = call ptr @slot_entry(ptr %ctx, i64 %r)
  %cp = getelementptr i8, ptr %e, i64 {{E_CUR}}
  %cur = load i256, ptr %cp, align 8
  %op = getelementptr i8, ptr %e, i64 {{E_ORIG}}
  %orig = load i256, ptr %op, align 8
  %changes = icmp ne i256 %cur, %new
  %o_eq_c = icmp eq i256 %orig, %cur
  %o_zero = icmp eq i256 %orig, 0
  %c_zero = icmp eq i256 %cur, 0
  %n_zero = icmp eq i256 %new, 0
  %o_eq_n = icmp eq i256 %orig, %new
  ; cost: a first change of the slot in this transaction costs {{SET}} (from zero) or {{RESET}}, else {{WARM}}
  %first = and i1 %o_eq_c, %changes
  %setreset = select i1 %o_zero, i64 {{SET}}, i64 {{RESET}}
  %warmcost = select i1 %first, i64 %setreset, i64 {{WARM}}
  %cost = add i64 %warmcost, %extra
  %short = icmp sgt i64 %cost, %gas
  br i1 %short, label %oog, label %write
write:
  ; refund delta (only when the value changes)
  %o_nz = xor i1 %o_zero, true
  %c_nz = xor i1 %c_zero, true
  %a1 = and i1 %o_nz, %c_nz
  %a2 = and i1 %a1, %n_zero
  %r1 = select i1 %a2, i64 {{CLEAR}}, i64 0
  %b1 = and i1 %o_nz, %c_zero
  %r2 = select i1 %b1, i64 {{CLEAR}}, i64 0
  %r3 = sub i64 %r1, %r2
  %restore = select i1 %o_zero, i64 {{RESTORE_SET}}, i64 {{RESTORE_RESET}}
  %r4 = select i1 %o_eq_n, i64 %restore, i64 0
  %r5 = add i64 %r3, %r4
  %delta = select i1 %changes, i64 %r5, i64 0
  %rp = getelementptr i8, ptr %ctx, i64 {{REFUND}}
  %ref = load i64, ptr %rp, align 8
  %ref1 = add i64 %ref, %delta
  store i64 %ref1, ptr %rp, align 8
  br i1 %changes, label %store, label %done
store:
  store i256 %new, ptr %cp, align 8
  call void @slot_mark_dirty(ptr %ctx, i64 %r, ptr %e)
  br label %done
done:
  %left = sub i64 %gas, %cost
  ret i64 %left
oog:
  ret i64 -1
}

define i64 @rt_tstore(ptr %ctx) {
entry:
  %r = call i64 @store_probe(ptr %ctx, i64 1)
  %static = icmp eq i64 %r, -1
  br i1 %static, label %python, label %look
look:
  %vp = getelementptr i8, ptr %ctx, i64 {{W1}}
  %v = load i256, ptr %vp, align 8
  %miss = icmp uge i64 %r, {{FREE}}
  br i1 %miss, label %new, label %hit
hit:
  %e = call ptr @slot_entry(ptr %ctx, i64 %r)
  %cp = getelementptr i8, ptr %e, i64 {{E_CUR}}
  store i256 %v, ptr %cp, align 8
  call void @slot_mark_dirty(ptr %ctx, i64 %r, ptr %e)
  ret i64 1
new:
  ; a store needs no old value: a new entry written natively, unless the table is full
  %full = call i1 @slot_full(ptr %ctx)
  br i1 %full, label %python, label %insert
insert:
  %kp = getelementptr i8, ptr %ctx, i64 {{W0}}
  %key = load i256, ptr %kp, align 8
  %i = and i64 %r, {{CAP_MASK}}
  %e2 = call ptr @slot_new(ptr %ctx, i64 %i, i64 1, i256 %key, i256 %v, i256 0)
  call void @slot_mark_dirty(ptr %ctx, i64 %i, ptr %e2)
  ret i64 1
python:
  ret i64 0
}

; LOGn: append a record (i64 n, i64 size, n topics, data) to the frame's log buffer
define i64 @rt_log(ptr %ctx, i64 %n) {
entry:
  %sp = getelementptr i8, ptr %ctx, i64 {{STATIC}}
  %st = load i64, ptr %sp, align 8
  %static = icmp ne i64 %st, 0
  br i1 %static, label %python, label %sized
sized:
  %szp = getelementptr i8, ptr %ctx, i64 {{W1}}
  %size = load i64, ptr %szp, align 8
  %tbytes = shl i64 %n, 5
  %h = add i64 %tbytes, 16
  %need = add i64 %h, %size
  %lenp = getelementptr i8, ptr %ctx, i64 {{LOG_LEN}}
  %len = load i64, ptr %lenp, align 8
  %end = add i64 %len, %need
  %b = call ptr @buf_reserve(ptr %ctx, i64 {{LOG_PTR}}, i64 {{LOG_CAP}}, i64 %end, i64 1024)
  %nomem = icmp eq ptr %b, null
  br i1 %nomem, label %python, label %append
append:
  %rec = getelementptr i8, ptr %b, i64 %len
  store i64 %n, ptr %rec, align 1
  %r8 = getelementptr i8, ptr %rec, i64 8
  store i64 %size, ptr %r8, align 1
  %r16 = getelementptr i8, ptr %rec, i64 16
  %topics = getelementptr i8, ptr %ctx, i64 {{W2}}
  call void @llvm.memcpy.p0.p0.i64(ptr %r16, ptr %topics, i64 %tbytes, i1 false)
  %has = icmp ne i64 %size, 0
  br i1 %has, label %data, label %done
data:
  %offp = getelementptr i8, ptr %ctx, i64 {{W0}}
  %off = load i64, ptr %offp, align 8
  %mpp = getelementptr i8, ptr %ctx, i64 {{MEM_PTR}}
  %mem = load ptr, ptr %mpp, align 8
  %src = getelementptr i8, ptr %mem, i64 %off
  %dst = getelementptr i8, ptr %r16, i64 %tbytes
  call void @llvm.memcpy.p0.p0.i64(ptr %dst, ptr %src, i64 %size, i1 false)
  br label %done
done:
  store i64 %end, ptr %lenp, align 8
  ret i64 1
python:
  ret i64 0
}

define void @rt_slot_insert(ptr %ctx, i64 %kind) {
entry:
  %full = call i1 @slot_full(ptr %ctx)
  br i1 %full, label %done, label %look
look:
  %kp = getelementptr i8, ptr %ctx, i64 {{W0}}
  %key = load i256, ptr %kp, align 8
  %r = call i64 @slot_probe(ptr %ctx, i64 %kind, i256 %key)
  %absent = icmp uge i64 %r, {{FREE}}
  br i1 %absent, label %insert, label %done
insert:
  %vp = getelementptr i8, ptr %ctx, i64 {{W1}}
  %v = load i256, ptr %vp, align 8
  %op = getelementptr i8, ptr %ctx, i64 {{W2}}
  %o = load i256, ptr %op, align 8
  %i = and i64 %r, {{CAP_MASK}}
  %e = call ptr @slot_new(ptr %ctx, i64 %i, i64 %kind, i256 %key, i256 %v, i256 %o)
  br label %done
done:
  ret void
}
