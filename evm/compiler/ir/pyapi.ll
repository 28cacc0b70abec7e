; The runtime's calls into CPython (bound at JIT load by pyapi.py; every pointer stays null, and these
; functions answer "do it in Python", when the interpreter is not one whose C API they were written for).
; They run with the GIL held: compiled code is entered through a ctypes PYFUNCTYPE (context.ENTRY_RAW).
; An error leaves the Python exception set and is reported to the caller, which stops the frame at once
; (status ST_PYERR); ctypes raises the exception when the entry returns.

@py_long_from = global ptr null   ; PyObject *_PyLong_FromByteArray(const unsigned char *, size_t, int little, int signed)
@py_long_as = global ptr null     ; int _PyLong_AsByteArray(PyLongObject *, unsigned char *, size_t, int little, int signed)
@py_vectorcall = global ptr null  ; PyObject *PyObject_Vectorcall(PyObject *, PyObject *const *, size_t, PyObject *)
@py_decref = global ptr null      ; void Py_DecRef(PyObject *) (NULL allowed)
@py_tuple_new = global ptr null   ; PyObject *PyTuple_New(Py_ssize_t)
@py_tuple_get = global ptr null   ; PyObject *PyTuple_GetItem(PyObject *, Py_ssize_t) (borrowed; checks the type)
@py_tuple_set = global ptr null   ; int PyTuple_SetItem(PyObject *, Py_ssize_t, PyObject *) (steals)
@py_list_new = global ptr null    ; PyObject *PyList_New(Py_ssize_t)
@py_list_append = global ptr null ; int PyList_Append(PyObject *, PyObject *)
@py_err_set = global ptr null     ; void PyErr_SetString(PyObject *, const char *)
@py_as_voidptr = global ptr null  ; void *PyLong_AsVoidPtr(PyObject *)
@py_from_i64 = global ptr null    ; PyObject *PyLong_FromLongLong(long long)
@py_err_occurred = global ptr null ; PyObject *PyErr_Occurred(void)
@py_type_error = global ptr null  ; PyExc_TypeError
@py_true = global ptr null        ; Py_True
@py_int_type = global ptr null    ; &PyLong_Type
@py_as_i64 = global ptr null      ; long long PyLong_AsLongLong(PyObject *)
@py_bytes_type = global ptr null  ; &PyBytes_Type
@py_bytes_from = global ptr null  ; PyObject *PyBytes_FromStringAndSize(const char *, Py_ssize_t)
@py_alloc = global ptr null       ; PyObject *PyType_GenericAlloc(PyTypeObject *, Py_ssize_t) (zeroed, GC-tracked)
@py_incref = global ptr null      ; void Py_IncRef(PyObject *)
@py_result_type = global ptr null ; evm.message.ExecutionResult
@py_success = global ptr null     ; the str "success"
@py_none = global ptr null        ; None
@py_empty = global ptr null       ; b""
; byte offsets in an ExecutionResult of its slots status, output, gas_left, error, created_address (measured
; on a probe instance by pyapi.result_layout: CPython lays slots out in sorted order)
@py_result_slots = global [5 x i64] zeroinitializer

@not_int = private constant [45 x i8] c"touch_slot must return (int, int, bool) here\00"
@bad_entry_args = private constant [50 x i8] c"a compiled entry takes (context, gas, bytes) here\00"

define internal i1 @py_is_int(ptr %o) alwaysinline {
  %tp = getelementptr i8, ptr %o, i64 8
  %t = load ptr, ptr %tp, align 8
  %want = load ptr, ptr @py_int_type, align 8
  %same = icmp eq ptr %t, %want
  ret i1 %same
}

; The frame's slot `key` (scratch word 0) fetched from the Host: NativeHost.touch_slot(address, key) warms
; it and answers (current, original, was_cold); current and original go to %cur and %orig (32-byte
; little-endian words). Returns 1 (it was cold), 0 (warm), -1 (a Python exception is pending) or -2 (no
; C API here, or the frame has no touch_slot: the caller takes the Python callback path).
define internal i64 @py_touch(ptr %ctx, ptr %cur, ptr %orig) {
entry:
  %fp = getelementptr i8, ptr %ctx, i64 {{TOUCH_FN}}
  %fn = load ptr, ptr %fp, align 8
  %vc = load ptr, ptr @py_vectorcall, align 8
  %nofn = icmp eq ptr %fn, null
  %novc = icmp eq ptr %vc, null
  %no = or i1 %nofn, %novc
  br i1 %no, label %python, label %key
key:
  %w0 = getelementptr i8, ptr %ctx, i64 {{W0}}
  %from = load ptr, ptr @py_long_from, align 8
  %k = call ptr %from(ptr %w0, i64 32, i32 1, i32 0)
  %nok = icmp eq ptr %k, null
  br i1 %nok, label %error, label %call
call:
  %args = alloca [2 x ptr], align 8
  %ap = getelementptr i8, ptr %ctx, i64 {{TOUCH_ADDR}}
  %addr = load ptr, ptr %ap, align 8
  store ptr %addr, ptr %args, align 8
  %a1 = getelementptr ptr, ptr %args, i64 1
  store ptr %k, ptr %a1, align 8
  %res = call ptr %vc(ptr %fn, ptr %args, i64 2, ptr null)
  %dec = load ptr, ptr @py_decref, align 8
  call void %dec(ptr %k)
  %nores = icmp eq ptr %res, null
  br i1 %nores, label %error, label %items
items:
  %get = load ptr, ptr @py_tuple_get, align 8
  %c = call ptr %get(ptr %res, i64 0)
  %o = call ptr %get(ptr %res, i64 1)
  %w = call ptr %get(ptr %res, i64 2)
  %noc = icmp eq ptr %c, null
  %noo = icmp eq ptr %o, null
  %now = icmp eq ptr %w, null
  %n1 = or i1 %noc, %noo
  %n2 = or i1 %n1, %now
  br i1 %n2, label %drop_error, label %types
types:
  %ci = call i1 @py_is_int(ptr %c)
  %oi = call i1 @py_is_int(ptr %o)
  %both = and i1 %ci, %oi
  br i1 %both, label %convert, label %type_error
convert:
  %as = load ptr, ptr @py_long_as, align 8
  %r1 = call i32 %as(ptr %c, ptr %cur, i64 32, i32 1, i32 0)
  %r2 = call i32 %as(ptr %o, ptr %orig, i64 32, i32 1, i32 0)
  %true = load ptr, ptr @py_true, align 8
  %cold = icmp eq ptr %w, %true
  call void %dec(ptr %res)
  %bad = or i32 %r1, %r2
  %failed = icmp ne i32 %bad, 0
  br i1 %failed, label %error, label %done
done:
  %r = zext i1 %cold to i64
  ret i64 %r
type_error:
  %set = load ptr, ptr @py_err_set, align 8
  %te = load ptr, ptr @py_type_error, align 8
  call void %set(ptr %te, ptr @not_int)
  br label %drop_error
drop_error:
  %dec2 = load ptr, ptr @py_decref, align 8
  call void %dec2(ptr %res)
  br label %error
error:
  ret i64 -1
python:
  ret i64 -2
}

; A cold SLOAD of the frame's slot (scratch word 0): fetched from the Host into words 1 (current) and 2
; (original) and cached. Returns py_touch's answer (1 cold: the caller charges the cold surcharge).
define i64 @rt_sload_cold(ptr %ctx) {
entry:
  %w1 = getelementptr i8, ptr %ctx, i64 {{W1}}
  %w2 = getelementptr i8, ptr %ctx, i64 {{W2}}
  %r = call i64 @py_touch(ptr %ctx, ptr %w1, ptr %w2)
  %ok = icmp sge i64 %r, 0
  br i1 %ok, label %insert, label %done
insert:
  call void @rt_slot_insert(ptr %ctx, i64 0)
  br label %done
done:
  ret i64 %r
}

; A SSTORE of a slot not in the cache (rt_sstore returned -2, the stipend rule passed): in a frame that may
; write, with room in the cache, the slot is fetched (py_touch into words 2 and 3), cached, and the store is
; priced and done natively with the cold surcharge when it was cold. Returns the gas left, -1 out of gas,
; -2 when the Python callback must do the whole SSTORE (static frame, full cache, no C API), -3 a Python
; exception is pending.
define i64 @rt_sstore_cold(ptr %ctx, i64 %gas) {
entry:
  %sp = getelementptr i8, ptr %ctx, i64 {{STATIC}}
  %st = load i64, ptr %sp, align 8
  %static = icmp ne i64 %st, 0
  %full = call i1 @slot_full(ptr %ctx)
  %no = or i1 %static, %full
  br i1 %no, label %python, label %touch
touch:
  %w2 = getelementptr i8, ptr %ctx, i64 {{W2}}
  %w3 = getelementptr i8, ptr %ctx, i64 {{W3}}
  %t = call i64 @py_touch(ptr %ctx, ptr %w2, ptr %w3)
  %err = icmp eq i64 %t, -1
  br i1 %err, label %error, label %fetched
fetched:
  %py = icmp eq i64 %t, -2
  br i1 %py, label %python, label %insert
insert:
  %kp = getelementptr i8, ptr %ctx, i64 {{W0}}
  %key = load i256, ptr %kp, align 8
  %cur = load i256, ptr %w2, align 8
  %orig = load i256, ptr %w3, align 8
  %r = call i64 @slot_probe(ptr %ctx, i64 0, i256 %key)
  %i = and i64 %r, {{CAP_MASK}}
  %e = call ptr @slot_new(ptr %ctx, i64 %i, i64 0, i256 %key, i256 %cur, i256 %orig)
  %cold = icmp eq i64 %t, 1
  %extra = select i1 %cold, i64 {{COLD_SSTORE}}, i64 0
  %left = call i64 @sstore_at(ptr %ctx, i64 %gas, i64 %i, i64 %extra)
  ret i64 %left
python:
  ret i64 -2
error:
  ret i64 -3
}

; The write-back of the frame's natively written slots as Python objects, built here rather than decoded
; word by word in Python: a 2-tuple (storage, transient) of lists of (key, value) int pairs, in the order
; the slots were first written. NULL with the Python exception set when an allocation failed.
define ptr @rt_dirty_lists(ptr %ctx) {
entry:
  %lnew = load ptr, ptr @py_list_new, align 8
  %dec = load ptr, ptr @py_decref, align 8
  %ls = call ptr %lnew(i64 0)
  %lt = call ptr %lnew(i64 0)
  %n0 = icmp eq ptr %ls, null
  %n1 = icmp eq ptr %lt, null
  %nl = or i1 %n0, %n1
  br i1 %nl, label %fail, label %start
start:
  %np = getelementptr i8, ptr %ctx, i64 {{ST_NDIRTY}}
  %n = load i64, ptr %np, align 8
  %dp = getelementptr i8, ptr %ctx, i64 {{ST_DIRTY}}
  %dl = load ptr, ptr %dp, align 8
  %from = load ptr, ptr @py_long_from, align 8
  %tnew = load ptr, ptr @py_tuple_new, align 8
  %tset = load ptr, ptr @py_tuple_set, align 8
  %append = load ptr, ptr @py_list_append, align 8
  br label %loop
loop:
  %k = phi i64 [ 0, %start ], [ %k1, %next ]
  %more = icmp ult i64 %k, %n
  br i1 %more, label %body, label %pack
body:
  %ip = getelementptr i64, ptr %dl, i64 %k
  %i = load i64, ptr %ip, align 8
  %e = call ptr @slot_entry(ptr %ctx, i64 %i)
  %keyp = getelementptr i8, ptr %e, i64 {{E_KEY}}
  %curp = getelementptr i8, ptr %e, i64 {{E_CUR}}
  %key = call ptr %from(ptr %keyp, i64 32, i32 1, i32 0)
  %val = call ptr %from(ptr %curp, i64 32, i32 1, i32 0)
  %pair = call ptr %tnew(i64 2)
  %nopair = icmp eq ptr %pair, null
  br i1 %nopair, label %pair_fail, label %fill
pair_fail:
  call void %dec(ptr %key)
  call void %dec(ptr %val)
  br label %fail
fill:
  %s0 = call i32 %tset(ptr %pair, i64 0, ptr %key)
  %s1 = call i32 %tset(ptr %pair, i64 1, ptr %val)
  %nokey = icmp eq ptr %key, null
  %noval = icmp eq ptr %val, null
  %nokv = or i1 %nokey, %noval
  br i1 %nokv, label %drop_pair, label %add
drop_pair:
  call void %dec(ptr %pair)
  br label %fail
add:
  %kindp = getelementptr i8, ptr %e, i64 {{E_KIND}}
  %kind = load i64, ptr %kindp, align 8
  %tr = icmp ne i64 %kind, 0
  %into = select i1 %tr, ptr %lt, ptr %ls
  %a = call i32 %append(ptr %into, ptr %pair)
  call void %dec(ptr %pair)
  %afail = icmp ne i32 %a, 0
  br i1 %afail, label %fail, label %next
next:
  %k1 = add i64 %k, 1
  br label %loop
pack:
  %out = call ptr %tnew(i64 2)
  %noout = icmp eq ptr %out, null
  br i1 %noout, label %fail, label %packed
packed:
  %p0 = call i32 %tset(ptr %out, i64 0, ptr %ls)
  %p1 = call i32 %tset(ptr %out, i64 1, ptr %lt)
  ret ptr %out
fail:
  call void %dec(ptr %ls)
  call void %dec(ptr %lt)
  ret ptr null
}

; A new reference to `o` stored into slot `i` of the ExecutionResult `res` (which owns it from then on).
define internal void @py_result_put(ptr %res, i64 %i, ptr %o) alwaysinline {
  %offp = getelementptr [5 x i64], ptr @py_result_slots, i64 0, i64 %i
  %off = load i64, ptr %offp, align 8
  %p = getelementptr i8, ptr %res, i64 %off
  store ptr %o, ptr %p, align 8
  ret void
}

define internal void @py_result_put_borrowed(ptr %res, i64 %i, ptr %g) alwaysinline {
  %o = load ptr, ptr %g, align 8
  %inc = load ptr, ptr @py_incref, align 8
  call void %inc(ptr %o)
  call void @py_result_put(ptr %res, i64 %i, ptr %o)
  ret void
}

; A compiled contract's entry as a Python builtin (pyapi.native_entry: a PyCFunction, METH_FASTCALL, whose `self`
; is the address of the contract's function as an int): called as entry(context address, gas, calldata) with
; the calldata an exact bytes object, it stores gas and calldata into the context (layout GAS, CD_PTR, CD_LEN:
; three stores the Python message path would otherwise make one by one), runs the contract and returns, when
; the frame succeeded (STOP or RETURN, status 0 or 1), its ExecutionResult("success", output, gas left),
; made here in one allocation instead of by the dataclass's Python __init__; else the status as an int.
; Cheaper to call than a ctypes function (no argument conversion objects, no libffi); NULL with the
; exception set when an argument is not what it must be or a C-API call of the frame left one pending.
define ptr @rt_py_entry(ptr %self, ptr %args, i64 %nargs) {
entry:
  %three = icmp eq i64 %nargs, 3
  br i1 %three, label %unpack, label %type_error
unpack:
  %p2 = getelementptr ptr, ptr %args, i64 2
  %data = load ptr, ptr %p2, align 8
  %tp = getelementptr i8, ptr %data, i64 8
  %t = load ptr, ptr %tp, align 8
  %bt = load ptr, ptr @py_bytes_type, align 8
  %isbytes = icmp eq ptr %t, %bt
  br i1 %isbytes, label %addrs, label %type_error
addrs:
  %asp = load ptr, ptr @py_as_voidptr, align 8
  %fn = call ptr %asp(ptr %self)
  %a0 = load ptr, ptr %args, align 8
  %ctx = call ptr %asp(ptr %a0)
  %nofn = icmp eq ptr %fn, null
  %noctx = icmp eq ptr %ctx, null
  %bad = or i1 %nofn, %noctx
  br i1 %bad, label %fail, label %gas
gas:
  %p1 = getelementptr ptr, ptr %args, i64 1
  %a1 = load ptr, ptr %p1, align 8
  %asll = load ptr, ptr @py_as_i64, align 8
  %g = call i64 %asll(ptr %a1)
  %maybe = icmp eq i64 %g, -1
  br i1 %maybe, label %gas_check, label %store
gas_check:
  %occ0 = load ptr, ptr @py_err_occurred, align 8
  %e0 = call ptr %occ0()
  %err0 = icmp ne ptr %e0, null
  br i1 %err0, label %fail, label %store
store:
  %gp = getelementptr i8, ptr %ctx, i64 {{GAS}}
  store i64 %g, ptr %gp, align 8
  %szp = getelementptr i8, ptr %data, i64 16  ; PyBytesObject: ob_size (PyObject_VAR_HEAD), then ob_shash,
  %sz = load i64, ptr %szp, align 8
  %dp = getelementptr i8, ptr %data, i64 32   ; then ob_sval (CPython 3.11 and 3.12)
  %cdp = getelementptr i8, ptr %ctx, i64 {{CD_PTR}}
  store ptr %dp, ptr %cdp, align 8
  %cdl = getelementptr i8, ptr %ctx, i64 {{CD_LEN}}
  store i64 %sz, ptr %cdl, align 8
  %rc = call i64 %fn(ptr %ctx)
  %occ = load ptr, ptr @py_err_occurred, align 8
  %e = call ptr %occ()
  %err = icmp ne ptr %e, null
  br i1 %err, label %fail, label %ok
ok:
  %succeeded = icmp ule i64 %rc, 1
  br i1 %succeeded, label %result, label %status
result:
  %alloc = load ptr, ptr @py_alloc, align 8
  %rt = load ptr, ptr @py_result_type, align 8
  %res = call ptr %alloc(ptr %rt, i64 0)
  %nores = icmp eq ptr %res, null
  br i1 %nores, label %fail, label %filled
filled:  ; the borrowed constants first: a failure below leaves a valid object to release
  call void @py_result_put_borrowed(ptr %res, i64 0, ptr @py_success)
  call void @py_result_put_borrowed(ptr %res, i64 3, ptr @py_none)
  call void @py_result_put_borrowed(ptr %res, i64 4, ptr @py_none)
  %glp = getelementptr i8, ptr %ctx, i64 {{GAS}}
  %gl = load i64, ptr %glp, align 8
  %mk0 = load ptr, ptr @py_from_i64, align 8
  %gasobj = call ptr %mk0(i64 %gl)
  %nogas = icmp eq ptr %gasobj, null
  br i1 %nogas, label %release, label %put_gas
put_gas:
  call void @py_result_put(ptr %res, i64 2, ptr %gasobj)
  %is1 = icmp eq i64 %rc, 1
  %rlp = getelementptr i8, ptr %ctx, i64 {{RET_LEN}}
  %rlen = load i64, ptr %rlp, align 8
  %some = icmp sgt i64 %rlen, 0
  %copy = and i1 %is1, %some
  br i1 %copy, label %output, label %empty
output:  ; RETURN with output: the output as bytes (what Python would slice out of memory)
  %mpp = getelementptr i8, ptr %ctx, i64 {{MEM_PTR}}
  %mem = load ptr, ptr %mpp, align 8
  %rop = getelementptr i8, ptr %ctx, i64 {{RET_OFF}}
  %roff = load i64, ptr %rop, align 8
  %src = getelementptr i8, ptr %mem, i64 %roff
  %bf = load ptr, ptr @py_bytes_from, align 8
  %out = call ptr %bf(ptr %src, i64 %rlen)
  %noout = icmp eq ptr %out, null
  br i1 %noout, label %release, label %put_out
put_out:
  call void @py_result_put(ptr %res, i64 1, ptr %out)
  ret ptr %res
empty:
  call void @py_result_put_borrowed(ptr %res, i64 1, ptr @py_empty)
  ret ptr %res
release:
  %dec = load ptr, ptr @py_decref, align 8
  call void %dec(ptr %res)
  br label %fail
status:
  %mk = load ptr, ptr @py_from_i64, align 8
  %r = call ptr %mk(i64 %rc)
  ret ptr %r
type_error:
  %set = load ptr, ptr @py_err_set, align 8
  %te = load ptr, ptr @py_type_error, align 8
  call void %set(ptr %te, ptr @bad_entry_args)
  br label %fail
fail:
  ret ptr null
}
