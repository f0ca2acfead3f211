/* signalscope.tracing._accel: the tracer's hot path in C (optional; pure Python is the fallback).
 *
 * Three pieces, each the exact counterpart of Python code it replaces when this module is built:
 *
 * - pack(record, path, details): packing.pack's common case. Any record out of that case (a
 *   send_robust receiver that raised, async receivers, a field of an unexpected type) is handed
 *   whole to packing.pack_py, so the two give the same answer by construction on those; on the
 *   common case tests/test_trace_accel.py compares them.
 * - timed(record, receivers): recorder._timed, the iterator Django takes a send's sync receivers
 *   from, reading the clock as it hands out each one.
 * - SyncHook(original, name, state): recorder._make_sync_hook's hook for send and send_robust.
 *
 * Every miss of a cache, every rare branch and every failure calls back into the Python
 * functions given to configure(), so the policy (naming, pks, groups, errors) lives in Python only.
 *
 * The clock is CLOCK_MONOTONIC in nanoseconds, which is time.perf_counter_ns on Linux and macOS;
 * configure() is told which clock Python uses and this module is only used when they agree.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Record fields (recorder.py's constants). */
enum {
    R_ID = 0, R_PARENT = 1, R_SIGNAL = 2, R_SENDER = 3, R_NAMED = 4, R_METHOD = 5, R_THREAD = 6,
    R_START = 7, R_END = 8, R_ERROR = 9, R_RECEIVERS = 10, R_TIMES = 11, R_CALL_THREAD = 12,
    R_RESPONSES = 13, R_RAISED = 14, R_ASYNC = 15, R_WRAPPED = 16, R_ORIGINALS = 17, R_CALL_IDS = 18,
    R_ROOT = 19, R_PENDING = 20, R_DEFERRED = 21, R_SIZE = 22
};

/* What configure() was given: the caches (dicts, shared with packing.py) and the Python functions
 * called on a miss. Strong references, held for the life of the process. */
static struct {
    PyObject *senders, *instances, *values, *models, *receivers, *shapes, *interned, *nones;
    PyObject *sender_text, *shape, *model_entry, *receiver_path, *pk_text, *none_results;
    PyObject *error_text, *details_of, *pack_py, *unseen;
    /* recorder's: its module dict (_entries, _listeners, _installed and its functions are read from
     * it on each send, so that they are always the ones recorder.py has now), its id counter
     * (itertools.count's __next__) and its contextvar. */
    PyObject *globals, *ids, *context_var;
    int configured;
} S;

static PyObject *s_instance, *s_dict, *s_pk, *s_qualname, *s_true, *s_false, *s_none;
static PyObject *s_entries, *s_entry, *s_listeners, *s_installed, *s_remove_stale, *s_notify, *s_unwrap;
static PyObject *s_sinks_failed, *s_listener_failed, *s_open, *s_close, *s_started, *s_finished, *s_sender;
static PyObject *s_mute, *s_send, *s_wrapped;

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A borrowed value from `dict` by id(obj), or NULL (with an error set when the lookup failed). */
static PyObject *by_id(PyObject *dict, PyObject *obj) {
    PyObject *key = PyLong_FromVoidPtr(obj);
    if (key == NULL) return NULL;
    PyObject *found = PyDict_GetItemWithError(dict, key);
    Py_DECREF(key);
    return found;
}

/* A new reference: `found` (borrowed) when given, else func(arg). */
static PyObject *or_call(PyObject *found, PyObject *func, PyObject *arg) {
    if (found != NULL) return Py_NewRef(found);
    if (PyErr_Occurred()) return NULL;
    return PyObject_CallOneArg(func, arg);
}

static PyObject *intern_tuple(PyObject *value) {
    /* _interned.setdefault(value, value); steals `value`, returns a new reference. */
    if (value == NULL) return NULL;
    PyObject *kept = PyDict_SetDefault(S.interned, value, value);
    Py_XINCREF(kept);
    Py_DECREF(value);
    return kept;
}

static int put_u64(unsigned char *at, PyObject *value) {
    /* struct's "Q": an int from 0 to 2**64 - 1. PyLong_AsLongAndOverflow first: on the ints a record
     * holds (ids, clocks, thread idents: under 2**63) it is several times cheaper than the others. */
    uint64_t n;
    int overflow = 0;
    long small = PyLong_CheckExact(value) && sizeof(long) == 8 ? PyLong_AsLongAndOverflow(value, &overflow) : -1;
    if (small >= 0) {
        n = (uint64_t)small;
    } else {
        if (small == -1 && PyErr_Occurred()) return -1;
        unsigned long long number = PyLong_AsUnsignedLongLong(value);
        if (number == (unsigned long long)-1 && PyErr_Occurred()) return -1;
        n = (uint64_t)number;
    }
    memcpy(at, &n, 8);
    return 0;
}

#define SLOW 2  /* a step's answer: hand the whole record to pack_py */

/* The sender's label (new reference in *out). */
static int label_of(PyObject *sender, PyObject **out) {
    if (sender == Py_None) {
        *out = Py_NewRef(Py_None);
        return 0;
    }
    PyObject *found = by_id(S.senders, sender);
    if (found == NULL && !PyErr_Occurred()) {
        if (PyUnicode_CheckExact(sender))
            found = PyDict_GetItemWithError(S.values, sender);
        else
            found = by_id(S.instances, (PyObject *)Py_TYPE(sender));
    }
    *out = or_call(found, S.sender_text, sender);
    return *out == NULL ? -1 : 0;
}

static int shape_of(PyObject *named, PyObject **out) {
    Py_ssize_t count = PyDict_GET_SIZE(named), pos = 0, i = 0;
    PyObject *key = PyTuple_New(2 * count), *name, *value;
    if (key == NULL) return -1;
    while (PyDict_Next(named, &pos, &name, &value) && i < count) {
        PyTuple_SET_ITEM(key, i, Py_NewRef(name));
        PyTuple_SET_ITEM(key, count + i, Py_NewRef((PyObject *)Py_TYPE(value)));
        i++;
    }
    if (i != count) {  /* cannot happen: the dict is not changed while this runs */
        Py_DECREF(key);
        return SLOW;
    }
    PyObject *found = PyDict_GetItemWithError(S.shapes, key);
    if (found != NULL) {
        *out = Py_NewRef(found);
    } else if (PyErr_Occurred()) {
        *out = NULL;
    } else {
        *out = PyObject_CallFunctionObjArgs(S.shape, named, key, NULL);
    }
    Py_DECREF(key);
    return *out == NULL ? -1 : 0;
}

/* The instance's model label and pk (new references), or two Nones. */
static int model_of(PyObject *named, PyObject **model, PyObject **pk) {
    *model = NULL;
    *pk = NULL;
    PyObject *instance = PyDict_GetItemWithError(named, s_instance);
    if (instance == NULL && PyErr_Occurred()) return -1;
    if (instance == NULL || instance == Py_None) {
        *model = Py_NewRef(Py_None);
        *pk = Py_NewRef(Py_None);
        return 0;
    }
    Py_INCREF(instance);
    PyObject *kind = (PyObject *)Py_TYPE(instance);
    PyObject *entry = by_id(S.models, kind);
    if (entry == NULL && PyErr_Occurred()) goto error;
    if (entry == NULL) {
        /* The cache keeps None for a class that is not a model: no entry means never seen. */
        entry = PyObject_CallOneArg(S.model_entry, kind);
        if (entry == NULL) goto error;
    } else {
        Py_INCREF(entry);
    }
    if (entry == Py_None) {
        Py_DECREF(entry);
        Py_DECREF(instance);
        *model = Py_NewRef(Py_None);
        *pk = Py_NewRef(Py_None);
        return 0;
    }
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 2) {
        Py_DECREF(entry);
        Py_DECREF(instance);
        return SLOW;
    }
    *model = Py_NewRef(PyTuple_GET_ITEM(entry, 0));
    PyObject *attname = PyTuple_GET_ITEM(entry, 1);
    PyObject *value = NULL;
    if (attname != Py_None) {
        PyObject *dict = PyObject_GetAttr(instance, s_dict);
        if (dict == NULL) {
            Py_DECREF(entry);
            goto error;
        }
        if (!PyDict_CheckExact(dict)) {
            Py_DECREF(dict);
            Py_DECREF(entry);
            Py_CLEAR(*model);
            Py_DECREF(instance);
            return SLOW;
        }
        value = PyDict_GetItemWithError(dict, attname);
        Py_XINCREF(value);
        Py_DECREF(dict);
        if (value == NULL && PyErr_Occurred()) {
            Py_DECREF(entry);
            goto error;
        }
    }
    Py_DECREF(entry);
    if (value == NULL) {
        value = PyObject_GetAttr(instance, s_pk);
        if (value == NULL) goto error;
    }
    if (!PyLong_CheckExact(value)) {
        Py_SETREF(value, PyObject_CallOneArg(S.pk_text, value));
        if (value == NULL) goto error;
    }
    *pk = value;
    Py_DECREF(instance);
    return 0;
error:
    Py_CLEAR(*model);
    Py_DECREF(instance);
    return -1;
}

static int names_of(PyObject *taken, PyObject **out) {
    Py_ssize_t count = PyList_GET_SIZE(taken);
    if (count == 0) {
        *out = PyTuple_New(0);
        return *out == NULL ? -1 : 0;
    }
    PyObject *names = PyTuple_New(count);
    if (names == NULL) return -1;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *receiver = PyList_GET_ITEM(taken, i);
        PyObject *func = PyMethod_Check(receiver) && Py_IS_TYPE(receiver, &PyMethod_Type)
                             ? PyMethod_GET_FUNCTION(receiver) : receiver;
        PyObject *name = or_call(by_id(S.receivers, func), S.receiver_path, func);
        if (name == NULL) {
            Py_DECREF(names);
            return -1;
        }
        PyTuple_SET_ITEM(names, i, name);
    }
    *out = intern_tuple(names);
    return *out == NULL ? -1 : 0;
}

static int results_of(PyObject *record, PyObject **out) {
    PyObject *responses = PyList_GET_ITEM(record, R_RESPONSES);
    int truth = PyObject_IsTrue(responses);
    if (truth < 0) return -1;
    if (!truth) {
        *out = PyTuple_New(0);
        return *out == NULL ? -1 : 0;
    }
    truth = PyObject_IsTrue(PyList_GET_ITEM(record, R_RAISED));
    if (truth < 0) return -1;
    if (truth || !PyList_CheckExact(responses)) return SLOW;
    Py_ssize_t count = PyList_GET_SIZE(responses);
    int all_none = 1;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyList_GET_ITEM(responses, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) return SLOW;
        if (PyTuple_GET_ITEM(pair, 1) != Py_None) all_none = 0;
    }
    if (all_none) {
        PyObject *size = PyLong_FromSsize_t(count);
        if (size == NULL) return -1;
        *out = or_call(PyDict_GetItemWithError(S.nones, size), S.none_results, size);
        Py_DECREF(size);
        return *out == NULL ? -1 : 0;
    }
    PyObject *results = PyTuple_New(count);
    if (results == NULL) return -1;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *response = PyTuple_GET_ITEM(PyList_GET_ITEM(responses, i), 1);
        PyObject *name = PyObject_GetAttr((PyObject *)Py_TYPE(response), s_qualname);
        if (name == NULL) {
            Py_DECREF(results);
            return -1;
        }
        PyTuple_SET_ITEM(results, i, name);
    }
    *out = intern_tuple(results);
    return *out == NULL ? -1 : 0;
}

static int details_found(PyObject *named, PyObject *details, PyObject **out) {
    Py_ssize_t count = PyTuple_GET_SIZE(details), kept = 0;
    PyObject *found = PyTuple_New(count);
    if (found == NULL) return -1;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(details, i);
        PyObject *value = PyDict_GetItemWithError(named, name);
        if (value == NULL) {
            if (PyErr_Occurred()) goto error;
            continue;
        }
        PyObject *text;
        if (value == Py_True) text = s_true;
        else if (value == Py_False) text = s_false;
        else if (value == Py_None) text = s_none;
        else if (PyUnicode_CheckExact(value)) text = value;
        else {  /* anything else: details_of's own rules */
            Py_DECREF(found);
            *out = intern_tuple(PyObject_CallFunctionObjArgs(S.details_of, named, details, NULL));
            return *out == NULL ? -1 : 0;
        }
        PyObject *pair = PyTuple_Pack(2, name, text);
        if (pair == NULL) goto error;
        PyTuple_SET_ITEM(found, kept, pair);
        kept++;
    }
    if (kept < count && _PyTuple_Resize(&found, kept) < 0) return -1;
    *out = intern_tuple(found);
    return *out == NULL ? -1 : 0;
error:
    Py_DECREF(found);
    return -1;
}

static PyObject *numbers_of(PyObject *record) {
    PyObject *times = PyList_GET_ITEM(record, R_TIMES), *ids = PyList_GET_ITEM(record, R_CALL_IDS);
    Py_ssize_t ntimes = PyList_GET_SIZE(times), nids = PyList_GET_SIZE(ids);
    Py_ssize_t count = 7 + ntimes + nids;
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, count * 8);
    if (bytes == NULL) return NULL;
    unsigned char *at = (unsigned char *)PyBytes_AS_STRING(bytes);
    PyObject *parent = PyList_GET_ITEM(record, R_PARENT);
    PyObject *head[6] = {PyList_GET_ITEM(record, R_ID), parent, PyList_GET_ITEM(record, R_START),
                         PyList_GET_ITEM(record, R_END), PyList_GET_ITEM(record, R_THREAD),
                         PyList_GET_ITEM(record, R_CALL_THREAD)};
    for (int i = 0; i < 6; i++, at += 8) {
        if (i == 1 && (parent == Py_None || parent == Py_False)) {  /* record[PARENT] or 0 */
            memset(at, 0, 8);
            continue;
        }
        if (put_u64(at, head[i]) < 0) goto error;
    }
    uint64_t n = (uint64_t)ntimes;
    memcpy(at, &n, 8);
    at += 8;
    for (Py_ssize_t i = 0; i < ntimes; i++, at += 8)
        if (put_u64(at, PyList_GET_ITEM(times, i)) < 0) goto error;
    for (Py_ssize_t i = 0; i < nids; i++, at += 8)
        if (put_u64(at, PyList_GET_ITEM(ids, i)) < 0) goto error;
    return bytes;
error:
    Py_DECREF(bytes);
    return NULL;
}

static PyObject *pack_record(PyObject *record, PyObject *path, PyObject *details) {
    PyObject *label = NULL, *shape = NULL, *model = NULL, *pk = NULL, *names = NULL, *results = NULL;
    PyObject *found = NULL, *numbers = NULL, *error = NULL, *answer = NULL;
    int step;
    if (!PyList_CheckExact(record) || PyList_GET_SIZE(record) != R_SIZE || !PyTuple_CheckExact(details))
        goto slow;
    PyObject *named = PyList_GET_ITEM(record, R_NAMED);
    if (!PyDict_CheckExact(named) || !PyList_CheckExact(PyList_GET_ITEM(record, R_RECEIVERS)) ||
        !PyList_CheckExact(PyList_GET_ITEM(record, R_TIMES)) ||
        !PyList_CheckExact(PyList_GET_ITEM(record, R_CALL_IDS)))
        goto slow;
    step = PyObject_IsTrue(PyList_GET_ITEM(record, R_ASYNC));
    if (step < 0) return NULL;
    if (step) goto slow;
    if (label_of(PyList_GET_ITEM(record, R_SENDER), &label) < 0) goto error;
    if ((step = shape_of(named, &shape)) != 0) goto fail;
    if ((step = model_of(named, &model, &pk)) != 0) goto fail;
    if ((step = names_of(PyList_GET_ITEM(record, R_RECEIVERS), &names)) != 0) goto fail;
    if ((step = results_of(record, &results)) != 0) goto fail;
    if (PyTuple_GET_SIZE(details)) {
        if ((step = details_found(named, details, &found)) != 0) goto fail;
    } else {
        found = PyTuple_New(0);
        if (found == NULL) goto error;
    }
    numbers = numbers_of(record);
    if (numbers == NULL) goto error;
    PyObject *exc = PyList_GET_ITEM(record, R_ERROR);
    error = exc == Py_None ? Py_NewRef(Py_None) : PyObject_CallOneArg(S.error_text, exc);
    if (error == NULL) goto error;
    PyObject *none_async = PyTuple_New(0);
    if (none_async == NULL) goto error;
    answer = PyTuple_New(12);
    if (answer == NULL) {
        Py_DECREF(none_async);
        goto error;
    }
    PyObject *items[12] = {Py_NewRef(path), label, Py_NewRef(PyList_GET_ITEM(record, R_METHOD)), shape, names,
                           results, model, found, numbers, pk, error, none_async};
    for (int i = 0; i < 12; i++) PyTuple_SET_ITEM(answer, i, items[i]);
    return answer;
fail:
    if (step < 0) goto error;
    Py_XDECREF(label); Py_XDECREF(shape); Py_XDECREF(model); Py_XDECREF(pk); Py_XDECREF(names);
    Py_XDECREF(results); Py_XDECREF(found);
slow:
    return PyObject_CallFunctionObjArgs(S.pack_py, record, path, details, NULL);
error:
    Py_XDECREF(label); Py_XDECREF(shape); Py_XDECREF(model); Py_XDECREF(pk); Py_XDECREF(names);
    Py_XDECREF(results); Py_XDECREF(found); Py_XDECREF(numbers); Py_XDECREF(error);
    return NULL;
}

static PyObject *accel_pack(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "pack(record, path, details)");
        return NULL;
    }
    if (!S.configured) {
        PyErr_SetString(PyExc_RuntimeError, "signalscope.tracing._accel is not configured");
        return NULL;
    }
    return pack_record(args[0], args[1], args[2]);
}

/* ------------------------------------------------------------------------------------------------
 * timed(record, receivers): recorder._timed.
 */
typedef struct {
    PyObject_HEAD
    PyObject *record;  /* NULL once exhausted */
    PyObject *receivers;  /* an iterator */
    int started;
} Timed;

static PyTypeObject TimedType;

static void timed_dealloc(Timed *self) {
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->record);
    Py_CLEAR(self->receivers);
    PyObject_GC_Del(self);
}

static int timed_traverse(Timed *self, visitproc visit, void *arg) {
    Py_VISIT(self->record);
    Py_VISIT(self->receivers);
    return 0;
}

static int timed_clear(Timed *self) {
    Py_CLEAR(self->record);
    Py_CLEAR(self->receivers);
    return 0;
}

static int append_now(PyObject *list) {
    PyObject *clock = PyLong_FromLongLong(now_ns());
    if (clock == NULL) return -1;
    int failed = PyList_Append(list, clock);
    Py_DECREF(clock);
    return failed;
}

static PyObject *timed_next(Timed *self) {
    PyObject *record = self->record;
    if (record == NULL) return NULL;
    if (!self->started) {
        self->started = 1;
        PyList_SetItem(record, R_CALL_THREAD, Py_NewRef(PyList_GET_ITEM(record, R_THREAD)));
    }
    PyObject *receiver = PyIter_Next(self->receivers);
    if (receiver == NULL) {
        if (PyErr_Occurred()) return NULL;
        append_now(PyList_GET_ITEM(record, R_TIMES));  /* on failure its error is raised: NULL either way */
        Py_CLEAR(self->record);
        Py_CLEAR(self->receivers);
        return NULL;
    }
    PyObject *id = PyObject_CallNoArgs(S.ids);
    if (id == NULL || PyList_Append(PyList_GET_ITEM(record, R_RECEIVERS), receiver) < 0 ||
        PyList_Append(PyList_GET_ITEM(record, R_CALL_IDS), id) < 0 ||
        append_now(PyList_GET_ITEM(record, R_TIMES)) < 0) {
        Py_XDECREF(id);
        Py_DECREF(receiver);
        return NULL;
    }
    Py_DECREF(id);
    return receiver;
}

static PyTypeObject TimedType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "signalscope.tracing._accel.timed",
    .tp_basicsize = sizeof(Timed),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_dealloc = (destructor)timed_dealloc,
    .tp_traverse = (traverseproc)timed_traverse,
    .tp_clear = (inquiry)timed_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)timed_next,
};

static PyObject *accel_timed(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyList_CheckExact(args[0]) || PyList_GET_SIZE(args[0]) != R_SIZE) {
        PyErr_SetString(PyExc_TypeError, "timed(record, receivers)");
        return NULL;
    }
    if (!S.configured) {
        PyErr_SetString(PyExc_RuntimeError, "signalscope.tracing._accel is not configured");
        return NULL;
    }
    PyObject *iterator = PyObject_GetIter(args[1]);
    if (iterator == NULL) return NULL;
    Timed *self = PyObject_GC_New(Timed, &TimedType);
    if (self == NULL) {
        Py_DECREF(iterator);
        return NULL;
    }
    self->record = Py_NewRef(args[0]);
    self->receivers = iterator;
    self->started = 0;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}


/* ------------------------------------------------------------------------------------------------
 * SyncHook(original, name): recorder._make_sync_hook's hook, for send and send_robust.
 *
 * A method descriptor (bound as a Python function is); update_wrapper's attributes go in its
 * __dict__. A call that does not have the shape send(self, sender, **named) goes to Django's
 * method as it is, so the TypeError is Django's own.
 */
typedef struct {
    PyObject_HEAD
    PyObject *original;
    PyObject *name;
    PyObject *dict;
    PyObject *weakrefs;
    vectorcallfunc vectorcall;
} SyncHook;  /* also the _live_receivers hook: SyncHook(original, name, live=True) */

static PyTypeObject SyncHookType;

/* A borrowed global of recorder.py, or NULL with an error set. */
static PyObject *global(PyObject *name) {
    PyObject *value = PyDict_GetItemWithError(S.globals, name);
    if (value == NULL && !PyErr_Occurred()) PyErr_SetObject(PyExc_NameError, name);
    return value;
}

static PyObject *call_global(PyObject *name, PyObject *arg) {
    /* A strong reference for the call: the code it runs may rebind the global. */
    PyObject *func = global(name);
    if (func == NULL) return NULL;
    Py_INCREF(func);
    PyObject *result = PyObject_CallOneArg(func, arg);
    Py_DECREF(func);
    return result;
}

/* Hand an Exception (only: not a BaseException) to the recorder's `handler` (with `extra` first
 * when given), as the Python hook's `except Exception` does; anything else stays raised. */
static int handled(PyObject *handler_name, PyObject *extra) {
    if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) PyException_SetTraceback(value, tb);
    PyObject *handler = global(handler_name), *done = NULL;
    if (handler != NULL) {
        Py_INCREF(handler);
        done = extra == NULL ? PyObject_CallOneArg(handler, value)
                             : PyObject_CallFunctionObjArgs(handler, extra, value, NULL);
        Py_DECREF(handler);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    if (done == NULL) return -1;
    Py_DECREF(done);
    return 0;
}

static int set_item(PyObject *list, Py_ssize_t index, PyObject *value) {
    /* Steals `value`. */
    if (value == NULL) return -1;
    return PyList_SetItem(list, index, value);
}

static PyObject *new_record(SyncHook *hook, PyObject *signal, PyObject *sender, PyObject *named) {
    PyObject *sid = PyObject_CallNoArgs(S.ids), *current = NULL, *parent, *root;
    if (sid == NULL) return NULL;
    if (PyContextVar_Get(S.context_var, NULL, &current) < 0) {
        Py_DECREF(sid);
        return NULL;
    }
    if (current == NULL || current == Py_None) {
        parent = Py_None;
        root = sid;
    } else if (PyList_CheckExact(current) && PyList_GET_SIZE(current) == R_SIZE) {
        PyObject *ids = PyList_GET_ITEM(current, R_CALL_IDS);
        Py_ssize_t count = PyList_Check(ids) ? PyList_GET_SIZE(ids) : 0;
        parent = count ? PyList_GET_ITEM(ids, count - 1) : PyList_GET_ITEM(current, R_ID);
        root = PyList_GET_ITEM(current, R_ROOT);
    } else if (PyLong_CheckExact(current)) {
        parent = root = current;
    } else if (PyTuple_CheckExact(current) && PyTuple_GET_SIZE(current) == 2 &&
               PyList_CheckExact(PyTuple_GET_ITEM(current, 0)) &&
               PyList_GET_SIZE(PyTuple_GET_ITEM(current, 0)) == R_SIZE) {
        parent = PyTuple_GET_ITEM(current, 1);
        root = PyList_GET_ITEM(PyTuple_GET_ITEM(current, 0), R_ROOT);
    } else {
        Py_DECREF(sid);
        Py_DECREF(current);
        PyErr_SetString(PyExc_RuntimeError, "signalscope: unexpected value in the tracer's context");
        return NULL;
    }
    PyObject *record = PyList_New(R_SIZE);
    if (record == NULL) {
        Py_DECREF(sid);
        Py_DECREF(current);
        return NULL;
    }
    PyObject *zero = PyLong_FromLong(0);
    PyObject *items[R_SIZE] = {
        sid, Py_NewRef(parent), Py_NewRef(signal), Py_NewRef(sender), Py_NewRef(named), Py_NewRef(hook->name),
        PyLong_FromUnsignedLong(PyThread_get_thread_ident()), Py_XNewRef(zero), Py_XNewRef(zero),
        Py_NewRef(Py_None), PyList_New(0), PyList_New(0), Py_XNewRef(zero), Py_NewRef(Py_None),
        Py_NewRef(Py_None), PyList_New(0), Py_NewRef(Py_False), Py_NewRef(Py_None), PyList_New(0),
        Py_NewRef(root), Py_XNewRef(zero), Py_NewRef(Py_False)};
    Py_XDECREF(zero);
    Py_DECREF(current);
    int failed = 0;
    for (int i = 0; i < R_SIZE; i++) {
        if (items[i] == NULL) failed = 1;
        PyList_SET_ITEM(record, i, items[i]);  /* a NULL item is fine in a list being freed */
    }
    if (failed) {
        Py_DECREF(record);
        return NULL;
    }
    return record;
}

/* Everything after the send returned: the same steps as the Python hook's, in its order. */
static int finish(PyObject *record, PyObject *entry) {
    PyObject *role = PyTuple_GET_ITEM(entry, 4), *done;
    if (role != Py_None) {
        PyObject *open = global(s_open);
        if (open == NULL) return -1;
        int is_open = PyObject_RichCompareBool(role, open, Py_EQ);
        if (is_open < 0) return -1;
        if (is_open) {
            if ((done = call_global(s_started, record)) == NULL) return -1;
            Py_DECREF(done);
        }
    }
    PyObject *sinks = PyTuple_GET_ITEM(entry, 1);
    int truth = PyObject_IsTrue(sinks);
    if (truth < 0) return -1;
    if (truth) {
        PyObject *send = pack_record(record, PyTuple_GET_ITEM(entry, 2), PyTuple_GET_ITEM(entry, 3));
        if (send == NULL) {
            if (handled(s_sinks_failed, NULL) < 0) return -1;
        } else {
            /* entry[_SINKS]: a tuple of (append, count) pairs (recorder._entry makes it) */
            Py_ssize_t count = PyTuple_CheckExact(sinks) ? PyTuple_GET_SIZE(sinks) : -1;
            for (Py_ssize_t i = 0; i < count; i++) {
                PyObject *pair = PyTuple_GET_ITEM(sinks, i);
                if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
                    count = -1;
                    break;
                }
                done = PyObject_CallOneArg(PyTuple_GET_ITEM(pair, 0), send);
                if (done != NULL) {
                    Py_DECREF(done);
                    done = PyObject_CallNoArgs(PyTuple_GET_ITEM(pair, 1));
                }
                if (done == NULL) break;
                Py_DECREF(done);
            }
            Py_DECREF(send);
            if (count < 0) PyErr_SetString(PyExc_TypeError, "signalscope: a signal's sinks are not pairs");
            if (PyErr_Occurred()) return -1;
        }
    }
    PyObject *listeners = global(s_listeners);
    if (listeners == NULL) return -1;
    if (PyTuple_CheckExact(listeners) && PyTuple_GET_SIZE(listeners)) {
        Py_INCREF(listeners);  /* a listener that fails is taken off: the tuple is replaced */
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(listeners); i++) {
            PyObject *listener = PyTuple_GET_ITEM(listeners, i);
            done = PyObject_CallOneArg(listener, record);
            if (done == NULL) {
                if (handled(s_listener_failed, listener) < 0) {
                    Py_DECREF(listeners);
                    return -1;
                }
            } else {
                Py_DECREF(done);
            }
        }
        Py_DECREF(listeners);
    } else if (!PyTuple_CheckExact(listeners)) {
        PyErr_SetString(PyExc_TypeError, "signalscope: recorder._listeners is not a tuple");
        return -1;
    }
    if (role != Py_None) {
        PyObject *close = global(s_close);
        if (close == NULL) return -1;
        int is_close = PyObject_RichCompareBool(role, close, Py_EQ);
        if (is_close < 0) return -1;
        if (is_close) {
            if ((done = call_global(s_finished, record)) == NULL) return -1;
            Py_DECREF(done);
        }
    }
    return 0;
}

static PyObject *hook_call(SyncHook *hook, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *original = hook->original;
    if (!S.configured || nargs < 1 || nargs > 2) return PyObject_Vectorcall(original, args, nargsf, kwnames);
    PyObject *signal = args[0], *sender = nargs == 2 ? args[1] : NULL;
    /* The entry, first: a send nobody wants goes straight to Django. */
    PyObject *entries = global(s_entries);
    if (entries == NULL) return NULL;
    PyObject *entry = by_id(entries, signal);
    if (entry != NULL) {
        Py_INCREF(entry);
    } else {
        if (PyErr_Occurred()) return NULL;
        entry = call_global(s_entry, signal);
        if (entry == NULL) return NULL;
    }
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 5) {
        Py_DECREF(entry);
        PyErr_SetString(PyExc_TypeError, "signalscope: a signal's entry is not a 5-tuple");
        return NULL;
    }
    int active = PyObject_IsTrue(PyTuple_GET_ITEM(entry, 0));
    if (active <= 0) {
        Py_DECREF(entry);
        if (active < 0) return NULL;
        PyObject *installed = global(s_installed);
        if (installed == NULL) return NULL;
        int on = PyObject_IsTrue(installed);
        if (on < 0) return NULL;
        if (!on) {  /* put back after uninstall (see there): take it off */
            PyObject *remove = global(s_remove_stale);
            if (remove == NULL) return NULL;
            Py_INCREF(remove);
            PyObject *done = PyObject_CallNoArgs(remove);
            Py_DECREF(remove);
            if (done == NULL) return NULL;
            Py_DECREF(done);
        }
        return PyObject_Vectorcall(original, args, nargsf, kwnames);
    }
    /* The keyword arguments: sender, when given by name, and the rest (the record's `named`). */
    PyObject *named = PyDict_New();
    if (named == NULL) {
        Py_DECREF(entry);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i), *value = args[nargs + i];
        int is_sender = PyUnicode_Compare(key, s_sender) == 0;
        if (is_sender && sender == NULL) {
            sender = value;
        } else if (is_sender || PyDict_SetItem(named, key, value) < 0) {
            /* sender twice: Django's own TypeError */
            Py_DECREF(named);
            Py_DECREF(entry);
            if (PyErr_Occurred()) return NULL;
            return PyObject_Vectorcall(original, args, nargsf, kwnames);
        }
    }
    if (sender == NULL) {  /* no sender: Django's own TypeError */
        Py_DECREF(named);
        Py_DECREF(entry);
        return PyObject_Vectorcall(original, args, nargsf, kwnames);
    }
    PyObject *record = new_record(hook, signal, sender, named);
    Py_DECREF(named);
    if (record == NULL) {
        Py_DECREF(entry);
        return NULL;
    }
    PyObject *token = PyContextVar_Set(S.context_var, record);
    if (token == NULL) {
        Py_DECREF(record);
        Py_DECREF(entry);
        return NULL;
    }
    PyObject *responses = NULL;
    if (set_item(record, R_START, PyLong_FromLongLong(now_ns())) == 0)
        responses = PyObject_Vectorcall(original, args, nargsf, kwnames);
    if (responses == NULL) {
        PyObject *type, *value, *tb;
        PyObject *end = PyLong_FromLongLong(now_ns());
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL && value != NULL) PyException_SetTraceback(value, tb);
        if (end != NULL) PyList_SetItem(record, R_END, end);
        if (value != NULL) PyList_SetItem(record, R_ERROR, Py_NewRef(value));
        if (PyContextVar_Reset(S.context_var, token) < 0) PyErr_Clear();
        PyObject *done = call_global(s_notify, record);
        if (done == NULL) PyErr_Clear();  /* the tracer's failure never replaces the program's exception */
        Py_XDECREF(done);
        PyErr_Restore(type, value, tb);
        Py_DECREF(token);
        Py_DECREF(record);
        Py_DECREF(entry);
        return NULL;
    }
    int failed = set_item(record, R_END, PyLong_FromLongLong(now_ns()));
    PyObject *originals = PyList_GET_ITEM(record, R_ORIGINALS);
    if (!failed && originals != Py_None) {
        int truth = PyObject_IsTrue(originals);
        if (truth < 0) {
            failed = 1;
        } else if (truth) {
            PyObject *unwrap = global(s_unwrap);  /* _unwrap runs no code of the program: borrowed is safe */
            PyObject *unwrapped = unwrap == NULL ? NULL
                                                 : PyObject_CallFunctionObjArgs(unwrap, originals, responses, NULL);
            if (unwrapped == NULL) failed = 1;
            else Py_SETREF(responses, unwrapped);
        }
    }
    if (!failed) failed = set_item(record, R_RESPONSES, Py_NewRef(responses));
    if (PyContextVar_Reset(S.context_var, token) < 0) failed = 1;
    Py_DECREF(token);
    if (!failed) failed = finish(record, entry);
    Py_DECREF(record);
    Py_DECREF(entry);
    if (failed) {
        Py_DECREF(responses);
        return NULL;
    }
    return responses;
}


/* The _live_receivers hook (recorder._make_live_receivers): Django's answer, with the sync receivers
 * of the send being recorded handed out through timed(). Only plain send without muting is done
 * here; every other case goes to recorder._wrapped. */
static PyObject *live_call(SyncHook *hook, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    PyObject *result = PyObject_Vectorcall(hook->original, args, nargsf, kwnames);
    if (result == NULL || !S.configured || PyVectorcall_NARGS(nargsf) < 1) return result;
    PyObject *signal = args[0], *record = NULL;
    if (PyContextVar_Get(S.context_var, NULL, &record) < 0) goto error;
    /* Only inside a send being recorded, once: has_listeners() calls this too. */
    if (record == NULL || !PyList_CheckExact(record) || PyList_GET_SIZE(record) != R_SIZE ||
        PyList_GET_ITEM(record, R_SIGNAL) != signal || PyList_GET_ITEM(record, R_WRAPPED) != Py_False) {
        Py_XDECREF(record);
        return result;
    }
    PyList_SetItem(record, R_WRAPPED, Py_NewRef(Py_True));
    PyObject *mute = global(s_mute);
    if (mute == NULL) goto error;
    PyObject *method = PyList_GET_ITEM(record, R_METHOD);
    int plain = mute == Py_None && PyUnicode_CheckExact(method) && PyUnicode_Compare(method, s_send) == 0;
    if (plain && PyList_CheckExact(result)) {  /* Django 4.2: one list, all sync */
        if (PyList_GET_SIZE(result)) {
            PyObject *const timed_args[2] = {record, result};
            Py_SETREF(result, accel_timed(NULL, timed_args, 2));
        }
        Py_DECREF(record);
        return result;
    }
    if (plain && PyTuple_CheckExact(result) && PyTuple_GET_SIZE(result) == 2 &&
        PyList_CheckExact(PyTuple_GET_ITEM(result, 1)) && PyList_GET_SIZE(PyTuple_GET_ITEM(result, 1)) == 0) {
        /* Django 5.0+: (sync receivers, async receivers), and no async ones */
        PyObject *sync = PyTuple_GET_ITEM(result, 0);
        int truth = PyObject_IsTrue(sync);
        if (truth < 0) goto error;
        if (truth) {
            PyObject *const timed_args[2] = {record, sync};
            PyObject *timed = accel_timed(NULL, timed_args, 2);
            if (timed == NULL) goto error;
            PyObject *pair = PyTuple_Pack(2, timed, PyTuple_GET_ITEM(result, 1));
            Py_DECREF(timed);
            Py_SETREF(result, pair);
        }
        Py_DECREF(record);
        return result;
    }
    PyObject *wrapped = global(s_wrapped);
    if (wrapped == NULL) goto error;
    Py_INCREF(wrapped);
    Py_SETREF(result, PyObject_CallFunctionObjArgs(wrapped, signal, record, result, NULL));
    Py_DECREF(wrapped);
    Py_DECREF(record);
    return result;
error:
    Py_XDECREF(record);
    Py_DECREF(result);
    return NULL;
}

static PyObject *hook_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *original, *name;
    int is_live = 0;
    static char *names[] = {"original", "name", "live", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OU|p", names, &original, &name, &is_live)) return NULL;
    SyncHook *self = PyObject_GC_New(SyncHook, type);
    if (self == NULL) return NULL;
    self->original = Py_NewRef(original);
    self->name = Py_NewRef(name);
    self->dict = NULL;
    self->weakrefs = NULL;
    self->vectorcall = is_live ? (vectorcallfunc)live_call : (vectorcallfunc)hook_call;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *hook_tp_call(SyncHook *self, PyObject *args, PyObject *kwargs) {
    return PyVectorcall_Call((PyObject *)self, args, kwargs);
}

static PyObject *hook_get(PyObject *self, PyObject *obj, PyObject *type) {
    if (obj == NULL || obj == Py_None) return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static int hook_traverse(SyncHook *self, visitproc visit, void *arg) {
    Py_VISIT(self->original);
    Py_VISIT(self->name);
    Py_VISIT(self->dict);
    return 0;
}

static int hook_clear(SyncHook *self) {
    Py_CLEAR(self->original);
    Py_CLEAR(self->name);
    Py_CLEAR(self->dict);
    return 0;
}

static void hook_dealloc(SyncHook *self) {
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL) PyObject_ClearWeakRefs((PyObject *)self);
    hook_clear(self);
    PyObject_GC_Del(self);
}

static PyMemberDef hook_members[] = {
    {"original", T_OBJECT, offsetof(SyncHook, original), READONLY, "Django's method this hook runs."},
    {NULL},
};

static PyGetSetDef hook_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL},
};

static PyTypeObject SyncHookType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "signalscope.tracing._accel.SyncHook",
    .tp_basicsize = sizeof(SyncHook),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "The tracer's send hook (recorder._make_sync_hook), in C.",
    .tp_new = hook_new,
    .tp_dealloc = (destructor)hook_dealloc,
    .tp_traverse = (traverseproc)hook_traverse,
    .tp_clear = (inquiry)hook_clear,
    .tp_call = (ternaryfunc)hook_tp_call,
    .tp_descr_get = hook_get,
    .tp_vectorcall_offset = offsetof(SyncHook, vectorcall),
    .tp_dictoffset = offsetof(SyncHook, dict),
    .tp_weaklistoffset = offsetof(SyncHook, weakrefs),
    .tp_members = hook_members,
    .tp_getset = hook_getset,
};

/* ------------------------------------------------------------------------------------------------ */

static PyObject *accel_configure(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *names[] = {
        "senders", "instances", "values", "models", "receivers", "shapes", "interned", "nones",
        "sender_text", "shape", "model_entry", "receiver_path", "pk_text", "none_results",
        "error_text", "details_of", "pack_py", "unseen", NULL};
    PyObject *given[18] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!O!O!O!O!OOOOOOOOOO", names,
                                     &PyDict_Type, &given[0], &PyDict_Type, &given[1], &PyDict_Type, &given[2],
                                     &PyDict_Type, &given[3], &PyDict_Type, &given[4], &PyDict_Type, &given[5],
                                     &PyDict_Type, &given[6], &PyDict_Type, &given[7], &given[8], &given[9],
                                     &given[10], &given[11], &given[12], &given[13], &given[14], &given[15],
                                     &given[16], &given[17]))
        return NULL;
    PyObject **slots[18] = {&S.senders, &S.instances, &S.values, &S.models, &S.receivers, &S.shapes,
                            &S.interned, &S.nones, &S.sender_text, &S.shape, &S.model_entry,
                            &S.receiver_path, &S.pk_text, &S.none_results, &S.error_text, &S.details_of,
                            &S.pack_py, &S.unseen};
    for (int i = 0; i < 18; i++) Py_XSETREF(*slots[i], Py_NewRef(given[i]));
    S.configured = 1;
    Py_RETURN_NONE;
}

static PyObject *accel_configure_recorder(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"globals", "ids", "context_var", NULL};
    PyObject *globals, *ids, *var;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OO!", names, &PyDict_Type, &globals, &ids,
                                     &PyContextVar_Type, &var))
        return NULL;
    Py_XSETREF(S.globals, Py_NewRef(globals));
    Py_XSETREF(S.ids, Py_NewRef(ids));
    Py_XSETREF(S.context_var, Py_NewRef(var));
    Py_RETURN_NONE;
}

static PyObject *accel_clock(PyObject *module, PyObject *unused) {
    return PyLong_FromLongLong(now_ns());
}

static PyMethodDef methods[] = {
    {"pack", (PyCFunction)(void (*)(void))accel_pack, METH_FASTCALL, "packing.pack, in C."},
    {"timed", (PyCFunction)(void (*)(void))accel_timed, METH_FASTCALL, "recorder._timed, in C."},
    {"configure", (PyCFunction)(void (*)(void))accel_configure, METH_VARARGS | METH_KEYWORDS,
     "Hand over packing's caches and fallbacks."},
    {"configure_recorder", (PyCFunction)(void (*)(void))accel_configure_recorder,
     METH_VARARGS | METH_KEYWORDS, "Hand over the recorder's id counter."},
    {"clock", accel_clock, METH_NOARGS, "The clock the C code reads (CLOCK_MONOTONIC, ns)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "signalscope.tracing._accel", "The tracer's hot path in C.", -1, methods,
};

#define INTERN(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL

PyMODINIT_FUNC PyInit__accel(void) {
    INTERN(s_instance, "instance");
    INTERN(s_dict, "__dict__");
    INTERN(s_pk, "pk");
    INTERN(s_qualname, "__qualname__");
    INTERN(s_true, "True");
    INTERN(s_false, "False");
    INTERN(s_none, "None");
    INTERN(s_entries, "_entries");
    INTERN(s_entry, "_entry");
    INTERN(s_listeners, "_listeners");
    INTERN(s_installed, "_installed");
    INTERN(s_remove_stale, "_remove_stale");
    INTERN(s_notify, "_notify");
    INTERN(s_unwrap, "_unwrap");
    INTERN(s_sinks_failed, "_sinks_failed");
    INTERN(s_listener_failed, "_listener_failed");
    INTERN(s_open, "_OPEN");
    INTERN(s_close, "_CLOSE");
    INTERN(s_started, "_request_started");
    INTERN(s_finished, "_request_finished");
    INTERN(s_sender, "sender");
    INTERN(s_mute, "_mute");
    INTERN(s_send, "send");
    INTERN(s_wrapped, "_wrapped");
    if (PyType_Ready(&TimedType) < 0 || PyType_Ready(&SyncHookType) < 0) return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) return NULL;
    if (PyModule_AddObjectRef(module, "SyncHook", (PyObject *)&SyncHookType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
