/* auditverify._chainloop: Verifier.feed_many's common-row loop in C (decision 291).
 *
 * The same loop as verifier.Verifier._run_python, row for row: a row that is the next
 * position, the next chain entry linked to the head, the aggregate's next version and whose
 * recomputed entry hash matches is checked here; its write seal too when it is the common seal
 * (its epoch's MAC, tiling on the last seal). Every other row goes to the Verifier's feed()
 * and every other seal to its _check_seal(), exactly where the Python loop sends them, so the
 * findings are feed()'s. Where this file is stricter than Python (it wants exact int, str and
 * bytes objects), the row goes to feed(), which is always right. The entry hash is OpenSSL's
 * SHA-256 (the library Python's hashlib uses for it); a seal's MAC is the epoch's own keyed
 * BLAKE2b state (hashlib's), copied, as the Python loop does. The row classes are slotted
 * dataclasses, read from their slots (configure()). Tests check this loop against the Python
 * one on the tamper catalogue and on random rows.
 *
 * The Verifier's arrays (positions, chain positions, pending entries) and counters are
 * written back before each call into Python and when the loop ends, however it ends. Never
 * releases the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#define HASH_SIZE 32
#define MAC_INPUT 88 /* >qq32s32sq: prev_position, position, prev_hash, entry_hash, entries */
#define FRAME_KEPT (1 << 20) /* the framing buffer kept between runs, at most */

static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;
static unsigned char chain_head[64];
static size_t chain_head_len;
static int configured;
static unsigned char *frame_buf;
static size_t frame_cap;
static PyObject *array_type;

static PyObject *s_position, *s_event, *s_chain, *s_seal, *s_originator_id,
    *s_originator_version, *s_topic, *s_state, *s_prev_position, *s_prev_hash, *s_entry_hash,
    *s_recorded_at_us, *s_epoch, *s_key_id, *s_entries, *s_mac, *s_after, *s_through, *s_copy,
    *s_update, *s_digest,
    *s_positions, *s_chain_positions, *s_pending, *s_needed, *s_seen, *s_versions, *s_last_at,
    *s_last_chain_position, *s_last_entry, *s_chain_count, *s_sealed_through, *s_by_mac,
    *s_seals, *s_last_seal, *s_frombytes, *s_q;

/* A field of Row, EventRow, ChainRow or SealRow (slotted dataclasses): read from its slot
 * when the object is of exactly that class, else by getattr (a subclass, another object). */
typedef struct {
    PyTypeObject *type;
    Py_ssize_t offset;
    PyObject **name;
} field;

enum {
    F_POSITION, F_EVENT, F_CHAIN, F_SEAL, F_ORIGINATOR_ID, F_ORIGINATOR_VERSION, F_TOPIC,
    F_STATE, F_PREV_POSITION, F_PREV_HASH, F_ENTRY_HASH, F_RECORDED_AT_US, F_EPOCH, F_KEY_ID,
    F_SEAL_ENTRY_HASH, F_SEAL_PREV_POSITION, F_ENTRIES, F_SEAL_PREV_HASH, F_MAC, F_FIELDS
};
static field fields[F_FIELDS];

static inline PyObject *get_field(PyObject *o, int which) {
    const field *f = &fields[which];
    if (Py_TYPE(o) == f->type) {
        PyObject *v = *(PyObject **)((char *)o + f->offset);
        if (v != NULL)
            return Py_NewRef(v);
    }
    return PyObject_GetAttr(o, *f->name);
}

/* An exact int that fits int64. */
static int as_i64(PyObject *o, int64_t *out) {
    int overflow;
    long long v;
    if (!PyLong_CheckExact(o))
        return 0;
    v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}

/* The field is an exact int equal to `want`: 1 yes, 0 no, -1 error. */
static int field_is_i64(PyObject *o, int which, int64_t want) {
    int64_t v;
    int r;
    PyObject *x = get_field(o, which);
    if (x == NULL)
        return -1;
    r = as_i64(x, &v) && v == want;
    Py_DECREF(x);
    return r;
}

/* The field is exact bytes equal to `hash` (HASH_SIZE bytes): 1 yes, 0 no, -1 error. */
static int field_is_hash(PyObject *o, int which, PyObject *hash) {
    int r;
    PyObject *x = get_field(o, which);
    if (x == NULL)
        return -1;
    r = x == hash || (PyBytes_CheckExact(x) && PyBytes_GET_SIZE(x) == HASH_SIZE &&
                      memcmp(PyBytes_AS_STRING(x), PyBytes_AS_STRING(hash), HASH_SIZE) == 0);
    Py_DECREF(x);
    return r;
}

typedef struct {
    int64_t *v;
    Py_ssize_t n, cap;
} ibuf;

static int ibuf_push(ibuf *b, int64_t x) {
    if (b->n == b->cap) {
        Py_ssize_t cap = b->cap ? b->cap * 2 : 1024;
        int64_t *v = PyMem_Realloc(b->v, (size_t)cap * sizeof(int64_t));
        if (v == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = x;
    return 0;
}

typedef struct {
    PyObject *verifier, *positions, *chain_positions, *pending, *needed, *seen, *versions,
        *last_at, *epochs, *feed, *check_seal;
    int check_versions;
    /* the loop's locals, as in _run_python */
    int64_t last, count, top;
    int has_top, framable;
    PyObject *entry; /* owned */
    /* Verifier counters held here between write-backs */
    int64_t sealed_through, by_mac, seals;
    ibuf pos;         /* positions fed, not yet in positions / chain_positions */
    ibuf pend;        /* pending entries not yet in the pending array */
    ibuf seal_pend;   /* the entries the last (lazy) seal took */
    int pend_cleared; /* the pending array is to be emptied first */
    Py_ssize_t pend_py; /* the pending array's length as last seen */
    /* the last valid seal, made here and not yet written as _last_seal */
    PyObject *seal_p, *seal_obj; /* owned */
    int64_t seal_through;
    int callback_failed; /* _check_seal raised: only the head is written back */
    int broken;          /* a write-back failed part-way: none is tried again */
    /* the epoch looked up last (use_epoch), owned */
    PyObject *ep, *ep_kid, *ep_mac;
    int64_t ep_after, ep_through;
    int ep_usable;
} loop;

static PyObject *attr_i64(PyObject *o, PyObject *name, int64_t *out, int *ok) {
    PyObject *v = PyObject_GetAttr(o, name);
    if (v != NULL)
        *ok = as_i64(v, out);
    return v;
}

static int set_i64(PyObject *o, PyObject *name, int64_t v) {
    PyObject *x = PyLong_FromLongLong(v);
    int r;
    if (x == NULL)
        return -1;
    r = PyObject_SetAttr(o, name, x);
    Py_DECREF(x);
    return r;
}

static int append_bytes(PyObject *arr, const int64_t *v, Py_ssize_t n) {
    PyObject *b, *r;
    if (n == 0)
        return 0;
    b = PyBytes_FromStringAndSize((const char *)v, n * (Py_ssize_t)sizeof(int64_t));
    if (b == NULL)
        return -1;
    r = PyObject_CallMethodOneArg(arr, s_frombytes, b);
    Py_DECREF(b);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

static int store_once(loop *s);

/* Write what the loop holds back into the Verifier (before any call into Python, and at the
 * end): the arrays, the last seal, the head and the counters. Once one has failed part-way
 * (no memory), no other is tried: it could write the same positions twice. */
static int store(loop *s) {
    if (s->broken || store_once(s) < 0) {
        s->broken = 1;
        return -1;
    }
    return 0;
}

static int store_once(loop *s) {
    if (append_bytes(s->positions, s->pos.v, s->pos.n) < 0 ||
        append_bytes(s->chain_positions, s->pos.v, s->pos.n) < 0)
        return -1;
    s->pos.n = 0;
    if (s->pend_cleared) {
        if (PySequence_DelSlice(s->pending, 0, PY_SSIZE_T_MAX) < 0)
            return -1;
        s->pend_cleared = 0;
        s->pend_py = 0;
    }
    if (append_bytes(s->pending, s->pend.v, s->pend.n) < 0)
        return -1;
    s->pend_py += s->pend.n;
    s->pend.n = 0;
    if (s->seal_obj != NULL) {
        PyObject *arr = PyObject_CallOneArg(array_type, s_q), *through = NULL, *t = NULL;
        int r = -1;
        if (arr != NULL && append_bytes(arr, s->seal_pend.v, s->seal_pend.n) == 0 &&
            (through = PyLong_FromLongLong(s->seal_through)) != NULL &&
            (t = PyTuple_Pack(5, s->seal_p, s->seal_obj, arr, through, Py_True)) != NULL)
            r = PyObject_SetAttr(s->verifier, s_last_seal, t);
        Py_XDECREF(arr);
        Py_XDECREF(through);
        Py_XDECREF(t);
        if (r < 0)
            return -1;
        Py_CLEAR(s->seal_p);
        Py_CLEAR(s->seal_obj);
        s->seal_pend.n = 0;
    }
    if (set_i64(s->verifier, s_last_chain_position, s->last) < 0 ||
        PyObject_SetAttr(s->verifier, s_last_entry, s->entry) < 0 ||
        set_i64(s->verifier, s_chain_count, s->count) < 0 ||
        set_i64(s->verifier, s_sealed_through, s->sealed_through) < 0 ||
        set_i64(s->verifier, s_by_mac, s->by_mac) < 0 ||
        set_i64(s->verifier, s_seals, s->seals) < 0)
        return -1;
    return 0;
}

/* Read the Verifier's counters (after store() and a call into Python). 1: read; 0: one is
 * not an int64 (the Python loop goes on); -1: error. */
static int load_counters(loop *s) {
    static PyObject **names[] = {&s_sealed_through, &s_by_mac, &s_seals};
    int64_t *into[] = {&s->sealed_through, &s->by_mac, &s->seals};
    Py_ssize_t n;
    for (int i = 0; i < 3; i++) {
        int ok = 0;
        PyObject *v = attr_i64(s->verifier, *names[i], into[i], &ok);
        if (v == NULL)
            return -1;
        Py_DECREF(v);
        if (!ok)
            return 0;
    }
    n = PySequence_Size(s->pending);
    if (n < 0)
        return -1;
    s->pend_py = n;
    return 1;
}

/* load_counters, and the head and the last position (at the start and after feed()). */
static int load(loop *s) {
    int ok = 0, r;
    Py_ssize_t n;
    PyObject *v = attr_i64(s->verifier, s_last_chain_position, &s->last, &ok);
    if (v == NULL)
        return -1;
    Py_DECREF(v);
    if (!ok)
        return 0;
    v = attr_i64(s->verifier, s_chain_count, &s->count, &ok);
    if (v == NULL)
        return -1;
    Py_DECREF(v);
    if (!ok)
        return 0;
    v = PyObject_GetAttr(s->verifier, s_last_entry);
    if (v == NULL)
        return -1;
    Py_XSETREF(s->entry, v);
    s->framable = PyBytes_Check(v) && PyBytes_GET_SIZE(v) == HASH_SIZE;
    n = PySequence_Size(s->positions);
    if (n < 0)
        return -1;
    s->has_top = n > 0;
    if (n > 0) {
        v = PySequence_GetItem(s->positions, n - 1);
        if (v == NULL)
            return -1;
        ok = as_i64(v, &s->top);
        Py_DECREF(v);
        if (!ok)
            return 0;
    }
    r = load_counters(s);
    return r;
}

static void put64(unsigned char *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static int ensure_frame(size_t size) {
    if (size > frame_cap) {
        unsigned char *b = PyMem_Realloc(frame_buf, size);
        if (b == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        frame_buf = b;
        frame_cap = size;
    }
    return 0;
}

static int sha256_into(const unsigned char *data, size_t size, unsigned char *out) {
    unsigned int n = 0;
    if (!EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) ||
        !EVP_DigestUpdate(sha256_ctx, data, size) || !EVP_DigestFinal_ex(sha256_ctx, out, &n) ||
        n != HASH_SIZE) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL's SHA-256 failed");
        return -1;
    }
    return 0;
}

/* The epoch looked up last, with the fields the common seal test reads (an Epoch is a
 * frozen dataclass: its fields are read once per object). */
static int use_epoch(loop *s, PyObject *epoch) {
    PyObject *kid, *after, *through, *mac;
    if (epoch == s->ep)
        return 0;
    Py_CLEAR(s->ep);
    Py_CLEAR(s->ep_kid);
    Py_CLEAR(s->ep_mac);
    if ((kid = PyObject_GetAttr(epoch, s_key_id)) == NULL)
        return -1;
    if ((after = PyObject_GetAttr(epoch, s_after)) == NULL) {
        Py_DECREF(kid);
        return -1;
    }
    if ((through = PyObject_GetAttr(epoch, s_through)) == NULL) {
        Py_DECREF(kid);
        Py_DECREF(after);
        return -1;
    }
    if ((mac = PyObject_GetAttr(epoch, s_mac)) == NULL) {
        Py_DECREF(kid);
        Py_DECREF(after);
        Py_DECREF(through);
        return -1;
    }
    s->ep_usable = PyUnicode_CheckExact(kid) && as_i64(after, &s->ep_after) &&
                   as_i64(through, &s->ep_through);
    Py_DECREF(after);
    Py_DECREF(through);
    s->ep = Py_NewRef(epoch);
    s->ep_kid = kid;
    s->ep_mac = mac;
    return 0;
}

/* The epoch's MAC over the seal's fields equals `mac`: as _run_python, the epoch's keyed
 * BLAKE2b state copied, updated and finished (an error there is "not equal", as its
 * `except Exception` makes it). */
static int mac_matches(PyObject *state, const unsigned char *data, PyObject *mac) {
    PyObject *copy, *bytes, *res, *digest;
    int r = 0;
    if ((copy = PyObject_CallMethodNoArgs(state, s_copy)) == NULL) {
        PyErr_Clear();
        return 0;
    }
    if ((bytes = PyBytes_FromStringAndSize((const char *)data, MAC_INPUT)) == NULL) {
        Py_DECREF(copy);
        return -1;
    }
    res = PyObject_CallMethodOneArg(copy, s_update, bytes);
    Py_DECREF(bytes);
    if (res == NULL) {
        Py_DECREF(copy);
        PyErr_Clear();
        return 0;
    }
    Py_DECREF(res);
    digest = PyObject_CallMethodNoArgs(copy, s_digest);
    Py_DECREF(copy);
    if (digest == NULL) {
        PyErr_Clear();
        return 0;
    }
    r = PyBytes_CheckExact(digest) && PyBytes_GET_SIZE(digest) == HASH_SIZE &&
        memcmp(PyBytes_AS_STRING(digest), PyBytes_AS_STRING(mac), HASH_SIZE) == 0;
    Py_DECREF(digest);
    return r;
}

/* The common seal test of _run_python, with its MAC. 1 common, 0 not, -1 error. */
static int common_seal(loop *s, PyObject *seal, PyObject *epoch, int64_t p) {
    PyObject *skid = NULL, *ph = NULL, *mac = NULL;
    int r = -1;
    unsigned char data[MAC_INPUT];
    Py_ssize_t pending = (s->pend_cleared ? 0 : s->pend_py) + s->pend.n;
    if (use_epoch(s, epoch) < 0 || (skid = get_field(seal, F_KEY_ID)) == NULL)
        goto done;
    r = 0;
    if (!s->ep_usable || !PyUnicode_CheckExact(skid) ||
        (skid != s->ep_kid && PyUnicode_Compare(s->ep_kid, skid) != 0) ||
        !(s->ep_after < p && p <= s->ep_through))
        goto done;
    if ((r = field_is_hash(seal, F_SEAL_ENTRY_HASH, s->entry)) != 1 ||
        (r = field_is_i64(seal, F_SEAL_PREV_POSITION, s->sealed_through)) != 1 ||
        (r = field_is_i64(seal, F_ENTRIES, (int64_t)pending)) != 1)
        goto done;
    r = -1;
    if ((ph = get_field(seal, F_SEAL_PREV_HASH)) == NULL ||
        (mac = get_field(seal, F_MAC)) == NULL)
        goto done;
    r = 0;
    if (!PyBytes_CheckExact(ph) || PyBytes_GET_SIZE(ph) != HASH_SIZE ||
        !PyBytes_CheckExact(mac) || PyBytes_GET_SIZE(mac) != HASH_SIZE)
        goto done;
    put64(data, (uint64_t)s->sealed_through);
    put64(data + 8, (uint64_t)p);
    memcpy(data + 16, PyBytes_AS_STRING(ph), HASH_SIZE);
    memcpy(data + 48, PyBytes_AS_STRING(s->entry), HASH_SIZE);
    put64(data + 80, (uint64_t)(int64_t)pending);
    r = mac_matches(s->ep_mac, data, mac);
done:
    Py_XDECREF(skid);
    Py_XDECREF(ph);
    Py_XDECREF(mac);
    return r;
}

/* A common seal taken: _last_seal, the counters, the pending entries emptied. */
static int take_seal(loop *s, PyObject *seal, PyObject *pobj, int64_t p) {
    if (!s->pend_cleared && s->pend_py > 0) {
        /* the pending array holds entries from before: the seal takes it all, now */
        PyObject *arr, *through, *t;
        int r;
        if (append_bytes(s->pending, s->pend.v, s->pend.n) < 0)
            return -1;
        s->pend_py += s->pend.n;
        s->pend.n = 0;
        if ((arr = PySequence_GetSlice(s->pending, 0, s->pend_py)) == NULL)
            return -1;
        through = PyLong_FromLongLong(s->sealed_through);
        t = through ? PyTuple_Pack(5, pobj, seal, arr, through, Py_True) : NULL;
        Py_DECREF(arr);
        Py_XDECREF(through);
        if (t == NULL)
            return -1;
        r = PyObject_SetAttr(s->verifier, s_last_seal, t);
        Py_DECREF(t);
        if (r < 0 || PySequence_DelSlice(s->pending, 0, PY_SSIZE_T_MAX) < 0)
            return -1;
        s->pend_py = 0;
        Py_CLEAR(s->seal_p);
        Py_CLEAR(s->seal_obj);
    } else {
        ibuf swap = s->seal_pend;
        s->seal_pend = s->pend;
        s->pend = swap;
        s->pend.n = 0;
        Py_INCREF(pobj);
        Py_XSETREF(s->seal_p, pobj);
        Py_INCREF(seal);
        Py_XSETREF(s->seal_obj, seal);
        s->seal_through = s->sealed_through;
        s->pend_cleared = s->pend_py > 0;
    }
    s->by_mac += 1;
    s->seals += 1;
    s->sealed_through = p;
    return 0;
}

/* One row. 1: checked here; 0: for feed(); -1: error. */
static int fast_row(loop *s, PyObject *row) {
    PyObject *pobj = NULL, *event = NULL, *chain = NULL, *oid = NULL, *version = NULL,
             *topic = NULL, *state = NULL, *rec = NULL, *eh = NULL, *seal = NULL, *cur;
    int64_t p, ver, recorded, known = 0;
    int r = -1, ok;
    const char *id_s, *topic_s;
    Py_ssize_t id_n, topic_n, state_n;
    size_t size;
    unsigned char *b, digest[HASH_SIZE];

    if ((pobj = get_field(row, F_POSITION)) == NULL ||
        (event = get_field(row, F_EVENT)) == NULL || (chain = get_field(row, F_CHAIN)) == NULL)
        goto done;
    r = 0;
    if (!as_i64(pobj, &p) || s->last == INT64_MAX || p != s->last + 1 ||
        (s->has_top && !(p > s->top)) || !s->framable || chain == Py_None || event == Py_None)
        goto done;
    if ((r = field_is_i64(chain, F_PREV_POSITION, s->last)) != 1 ||
        (r = field_is_hash(chain, F_PREV_HASH, s->entry)) != 1)
        goto done;
    r = -1;
    if ((oid = get_field(event, F_ORIGINATOR_ID)) == NULL ||
        (version = get_field(event, F_ORIGINATOR_VERSION)) == NULL)
        goto done;
    r = 0;
    if (!PyUnicode_CheckExact(oid) || !as_i64(version, &ver))
        goto done;
    if (s->check_versions) {
        cur = PyDict_GetItemWithError(s->versions, oid);
        if (cur == NULL && PyErr_Occurred()) {
            PyErr_Clear();
            goto done;
        }
        if (cur != NULL && !as_i64(cur, &known))
            goto done;
        if (known == INT64_MAX || ver != known + 1)
            goto done;
    }
    r = -1;
    if ((topic = get_field(event, F_TOPIC)) == NULL ||
        (state = get_field(event, F_STATE)) == NULL ||
        (rec = get_field(chain, F_RECORDED_AT_US)) == NULL ||
        (eh = get_field(chain, F_ENTRY_HASH)) == NULL)
        goto done;
    r = 0;
    if (!PyUnicode_CheckExact(topic) || !PyBytes_CheckExact(state) || !as_i64(rec, &recorded) ||
        !PyBytes_CheckExact(eh) || PyBytes_GET_SIZE(eh) != HASH_SIZE)
        goto done;
    id_s = PyUnicode_AsUTF8AndSize(oid, &id_n);
    if (id_s == NULL) {
        PyErr_Clear();
        goto done;
    }
    topic_s = PyUnicode_AsUTF8AndSize(topic, &topic_n);
    if (topic_s == NULL) {
        PyErr_Clear();
        goto done;
    }
    state_n = PyBytes_GET_SIZE(state);
    size = chain_head_len + HASH_SIZE + 16 + 16 + 8 + (size_t)id_n + 16 + 8 + (size_t)topic_n +
           8 + (size_t)state_n + 16;
    if (ensure_frame(size) < 0) { /* no memory for it: feed(), as the Python loop's `except` */
        PyErr_Clear();
        goto done;
    }
    r = -1;
    b = frame_buf;
    memcpy(b, chain_head, chain_head_len);
    b += chain_head_len;
    memcpy(b, PyBytes_AS_STRING(s->entry), HASH_SIZE);
    b += HASH_SIZE;
    put64(b, 8);
    put64(b + 8, (uint64_t)s->last);
    put64(b + 16, 8);
    put64(b + 24, (uint64_t)p);
    put64(b + 32, (uint64_t)id_n);
    b += 40;
    memcpy(b, id_s, (size_t)id_n);
    b += id_n;
    put64(b, 8);
    put64(b + 8, (uint64_t)ver);
    put64(b + 16, (uint64_t)topic_n);
    b += 24;
    memcpy(b, topic_s, (size_t)topic_n);
    b += topic_n;
    put64(b, (uint64_t)state_n);
    b += 8;
    memcpy(b, PyBytes_AS_STRING(state), (size_t)state_n);
    b += state_n;
    put64(b, 8);
    put64(b + 8, (uint64_t)recorded);
    b += 16;
    if (sha256_into(frame_buf, (size_t)(b - frame_buf), digest) < 0)
        goto done;
    r = 0;
    if (memcmp(digest, PyBytes_AS_STRING(eh), HASH_SIZE) != 0)
        goto done;

    /* the common row: as _run_python after `slow` is False */
    r = -1;
    if (ibuf_push(&s->pos, p) < 0 || ibuf_push(&s->pend, p) < 0)
        goto done;
    s->count += 1;
    Py_INCREF(eh);
    Py_XSETREF(s->entry, eh);
    if ((seal = get_field(row, F_SEAL)) == NULL)
        goto done;
    if (seal != Py_None) {
        PyObject *number = get_field(seal, F_EPOCH), *epoch = NULL;
        int truth, common = 0;
        if (number == NULL)
            goto done;
        truth = PyObject_IsTrue(number);
        if (truth < 0) {
            Py_DECREF(number);
            goto done;
        }
        if (truth) {
            epoch = PyDict_GetItemWithError(s->epochs, number); /* borrowed */
            if (epoch == NULL && PyErr_Occurred()) {
                Py_DECREF(number);
                goto done;
            }
            Py_XINCREF(epoch);
        }
        Py_DECREF(number);
        if (epoch != NULL)
            common = common_seal(s, seal, epoch, p);
        Py_XDECREF(epoch);
        if (common < 0)
            goto done;
        if (common) {
            if (take_seal(s, seal, pobj, p) < 0)
                goto done;
        } else {
            PyObject *res;
            if (store(s) < 0)
                goto done;
            res = PyObject_CallFunctionObjArgs(s->check_seal, pobj, seal, s->entry, NULL);
            if (res == NULL) {
                s->callback_failed = 1;
                goto done;
            }
            Py_DECREF(res);
            ok = load_counters(s);
            if (ok < 0)
                goto done;
            if (ok == 0) {
                PyErr_SetString(PyExc_RuntimeError, "a seal counter is not an int64");
                goto done;
            }
        }
    }
    s->last = s->top = p;
    s->has_top = 1;
    if (PySet_GET_SIZE(s->needed) > 0) {
        int in = PySet_Contains(s->needed, pobj);
        if (in < 0)
            goto done;
        if (in) {
            PyObject *count = PyLong_FromLongLong(s->count), *t;
            if (count == NULL)
                goto done;
            t = PyTuple_Pack(2, s->entry, count);
            Py_DECREF(count);
            if (t == NULL || PyDict_SetItem(s->seen, pobj, t) < 0) {
                Py_XDECREF(t);
                goto done;
            }
            Py_DECREF(t);
        }
    }
    if (s->check_versions &&
        (PyDict_SetItem(s->last_at, oid, pobj) < 0 || PyDict_SetItem(s->versions, oid, version) < 0))
        goto done;
    r = 1;
done:
    Py_XDECREF(pobj);
    Py_XDECREF(event);
    Py_XDECREF(chain);
    Py_XDECREF(oid);
    Py_XDECREF(version);
    Py_XDECREF(topic);
    Py_XDECREF(state);
    Py_XDECREF(rec);
    Py_XDECREF(eh);
    Py_XDECREF(seal);
    return r;
}

static void release(loop *s) {
    Py_CLEAR(s->entry);
    Py_CLEAR(s->ep);
    Py_CLEAR(s->ep_kid);
    Py_CLEAR(s->ep_mac);
    Py_CLEAR(s->seal_p);
    Py_CLEAR(s->seal_obj);
    PyMem_Free(s->pos.v);
    PyMem_Free(s->pend.v);
    PyMem_Free(s->seal_pend.v);
    if (frame_cap > FRAME_KEPT) { /* one huge state does not stay allocated */
        PyMem_Free(frame_buf);
        frame_buf = NULL;
        frame_cap = 0;
    }
}

static PyObject *get(PyObject *o, PyObject *name, int (*check)(PyObject *), const char *what) {
    PyObject *v = PyObject_GetAttr(o, name);
    if (v != NULL && check != NULL && !check(v)) {
        PyErr_Format(PyExc_TypeError, "the Verifier's %s is not the expected type", what);
        Py_CLEAR(v);
    }
    return v;
}

static int is_set(PyObject *o) { return PyAnySet_Check(o); }
static int is_dict(PyObject *o) { return PyDict_Check(o); }

/* run(verifier, rows, feed, check_seal, epochs, check_versions) -> bool: True when every row
 * was checked; False when the Verifier's state is one this loop does not hold (a position or
 * count outside int64), having written back all it did: the Python loop then goes on with the
 * same iterator. */
static PyObject *run(PyObject *self, PyObject *args) {
    PyObject *verifier, *rows, *feed, *check_seal, *epochs, *it = NULL, *row, *result = NULL;
    PyObject *held[7] = {0};
    int check_versions, r;
    unsigned long tick = 0;
    loop s;
    memset(&s, 0, sizeof s);
    if (!PyArg_ParseTuple(args, "OOOOO!p", &verifier, &rows, &feed, &check_seal, &PyDict_Type,
                          &epochs, &check_versions))
        return NULL;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "auditverify._chainloop.configure() was not called");
        return NULL;
    }
    s.verifier = verifier;
    s.feed = feed;
    s.check_seal = check_seal;
    s.epochs = epochs;
    s.check_versions = check_versions;
    if ((held[0] = s.positions = get(verifier, s_positions, NULL, "")) == NULL ||
        (held[1] = s.chain_positions = get(verifier, s_chain_positions, NULL, "")) == NULL ||
        (held[2] = s.pending = get(verifier, s_pending, NULL, "")) == NULL ||
        (held[3] = s.needed = get(verifier, s_needed, is_set, "needed positions")) == NULL ||
        (held[4] = s.seen = get(verifier, s_seen, is_dict, "seen anchors")) == NULL ||
        (held[5] = s.versions = get(verifier, s_versions, is_dict, "versions")) == NULL ||
        (held[6] = s.last_at = get(verifier, s_last_at, is_dict, "newest positions")) == NULL)
        goto out;
    r = load(&s);
    if (r < 0)
        goto out;
    if (r == 0) {
        result = Py_NewRef(Py_False);
        goto out;
    }
    if ((it = PyObject_GetIter(rows)) == NULL)
        goto out;
    for (;;) {
        row = PyIter_Next(it);
        if (row == NULL) {
            if (PyErr_Occurred() || store(&s) < 0)
                goto fail;
            result = Py_NewRef(Py_True);
            goto out;
        }
        if ((++tick & 0xfff) == 0 && PyErr_CheckSignals() < 0) {
            Py_DECREF(row);
            goto fail;
        }
        r = fast_row(&s, row);
        if (r < 0) {
            Py_DECREF(row);
            goto fail;
        }
        if (r == 0) {
            /* feed() checks it, with the state written back; its own changes to the head
             * are undone if it raises, as _run_python's `finally` does */
            int64_t last = s.last, count = s.count;
            PyObject *entry = Py_NewRef(s.entry), *res;
            if (store(&s) < 0) {
                Py_DECREF(entry);
                Py_DECREF(row);
                goto fail;
            }
            res = PyObject_CallOneArg(feed, row);
            Py_DECREF(row);
            if (res == NULL) {
                PyObject *type, *value, *tb;
                PyErr_Fetch(&type, &value, &tb);
                s.last = last;
                s.count = count;
                Py_XSETREF(s.entry, entry);
                if (set_i64(verifier, s_last_chain_position, last) < 0 ||
                    PyObject_SetAttr(verifier, s_last_entry, entry) < 0 ||
                    set_i64(verifier, s_chain_count, count) < 0)
                    PyErr_Clear();
                PyErr_Restore(type, value, tb);
                goto out;
            }
            Py_DECREF(entry);
            Py_DECREF(res);
            r = load(&s);
            if (r < 0)
                goto out;
            if (r == 0) {
                result = Py_NewRef(Py_False);
                goto out;
            }
            continue;
        }
        Py_DECREF(row);
    }
fail:
    /* an error in a row or the iterator: write back what was checked (after _check_seal
     * raised, only the head, as _run_python's `finally` does), keep the error */
    {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (s.callback_failed ? (set_i64(verifier, s_last_chain_position, s.last) < 0 ||
                                 PyObject_SetAttr(verifier, s_last_entry, s.entry) < 0 ||
                                 set_i64(verifier, s_chain_count, s.count) < 0)
                              : store(&s) < 0)
            PyErr_Clear();
        PyErr_Restore(type, value, tb);
    }
out:
    Py_XDECREF(it);
    for (int i = 0; i < (int)(sizeof held / sizeof held[0]); i++)
        Py_XDECREF(held[i]);
    release(&s);
    return result;
}

static int find_field(int which, PyObject *type, PyObject **name) {
    PyObject *descr;
    PyMemberDef *member;
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "configure() takes classes");
        return -1;
    }
    descr = PyDict_GetItemWithError(((PyTypeObject *)type)->tp_dict, *name);
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type) ||
        (member = ((PyMemberDescrObject *)descr)->d_member)->type != T_OBJECT_EX) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "%R.%U is not a slot", type, *name);
        return -1;
    }
    Py_INCREF(type);
    Py_XSETREF(fields[which].type, (PyTypeObject *)type);
    fields[which].offset = member->offset;
    fields[which].name = name;
    return 0;
}

/* configure(chain_head, row, event_row, chain_row, seal_row): CHAIN_HEAD of
 * auditverify.encoding (so that it is written in one place) and the slotted dataclasses
 * of auditverify.model whose fields are read from their slots. */
static PyObject *configure(PyObject *self, PyObject *args) {
    const char *head;
    Py_ssize_t head_n;
    PyObject *row, *event, *chain, *seal;
    if (!PyArg_ParseTuple(args, "y#OOOO", &head, &head_n, &row, &event, &chain, &seal))
        return NULL;
    if (head_n > (Py_ssize_t)sizeof chain_head) {
        PyErr_SetString(PyExc_ValueError, "a chain head of at most 64 bytes");
        return NULL;
    }
    if (find_field(F_POSITION, row, &s_position) < 0 || find_field(F_EVENT, row, &s_event) < 0 ||
        find_field(F_CHAIN, row, &s_chain) < 0 || find_field(F_SEAL, row, &s_seal) < 0 ||
        find_field(F_ORIGINATOR_ID, event, &s_originator_id) < 0 ||
        find_field(F_ORIGINATOR_VERSION, event, &s_originator_version) < 0 ||
        find_field(F_TOPIC, event, &s_topic) < 0 || find_field(F_STATE, event, &s_state) < 0 ||
        find_field(F_PREV_POSITION, chain, &s_prev_position) < 0 ||
        find_field(F_PREV_HASH, chain, &s_prev_hash) < 0 ||
        find_field(F_ENTRY_HASH, chain, &s_entry_hash) < 0 ||
        find_field(F_RECORDED_AT_US, chain, &s_recorded_at_us) < 0 ||
        find_field(F_EPOCH, seal, &s_epoch) < 0 || find_field(F_KEY_ID, seal, &s_key_id) < 0 ||
        find_field(F_SEAL_ENTRY_HASH, seal, &s_entry_hash) < 0 ||
        find_field(F_SEAL_PREV_POSITION, seal, &s_prev_position) < 0 ||
        find_field(F_ENTRIES, seal, &s_entries) < 0 ||
        find_field(F_SEAL_PREV_HASH, seal, &s_prev_hash) < 0 ||
        find_field(F_MAC, seal, &s_mac) < 0)
        return NULL;
    memcpy(chain_head, head, (size_t)head_n);
    chain_head_len = (size_t)head_n;
    configured = 1;
    Py_RETURN_NONE;
}

/* sha256(data): SHA-256 as this loop computes it, for the tests that compare it with
 * hashlib's. */
static PyObject *py_sha256(PyObject *self, PyObject *args) {
    Py_buffer data;
    unsigned char out[HASH_SIZE];
    int r;
    if (!PyArg_ParseTuple(args, "y*", &data))
        return NULL;
    r = sha256_into(data.buf, (size_t)data.len, out);
    PyBuffer_Release(&data);
    return r < 0 ? NULL : PyBytes_FromStringAndSize((const char *)out, HASH_SIZE);
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS, "Verifier._run's loop (decision 291)."},
    {"configure", configure, METH_VARARGS, "Set the chain head and the row classes."},
    {"sha256", py_sha256, METH_VARARGS, "SHA-256 as this loop computes it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "auditverify._chainloop",
    "Verifier.feed_many's common-row loop in C (decision 291).", -1, methods,
    NULL, NULL, NULL, NULL,
};

#define INTERN(var, text)                                                                    \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                    \
        return NULL;

PyMODINIT_FUNC PyInit__chainloop(void) {
    PyObject *m, *array_module;
    INTERN(s_position, "position");
    INTERN(s_event, "event");
    INTERN(s_chain, "chain");
    INTERN(s_seal, "seal");
    INTERN(s_originator_id, "originator_id");
    INTERN(s_originator_version, "originator_version");
    INTERN(s_topic, "topic");
    INTERN(s_state, "state");
    INTERN(s_prev_position, "prev_position");
    INTERN(s_prev_hash, "prev_hash");
    INTERN(s_entry_hash, "entry_hash");
    INTERN(s_recorded_at_us, "recorded_at_us");
    INTERN(s_epoch, "epoch");
    INTERN(s_key_id, "key_id");
    INTERN(s_entries, "entries");
    INTERN(s_mac, "mac");
    INTERN(s_after, "after");
    INTERN(s_through, "through");
    INTERN(s_copy, "copy");
    INTERN(s_update, "update");
    INTERN(s_digest, "digest");
    INTERN(s_positions, "_positions");
    INTERN(s_chain_positions, "_chain_positions");
    INTERN(s_pending, "_pending");
    INTERN(s_needed, "_needed");
    INTERN(s_seen, "_seen");
    INTERN(s_versions, "_versions");
    INTERN(s_last_at, "_last_at");
    INTERN(s_last_chain_position, "_last_chain_position");
    INTERN(s_last_entry, "_last_entry");
    INTERN(s_chain_count, "_chain_count");
    INTERN(s_sealed_through, "_sealed_through");
    INTERN(s_by_mac, "_by_mac");
    INTERN(s_seals, "_seals");
    INTERN(s_last_seal, "_last_seal");
    INTERN(s_frombytes, "frombytes");
    INTERN(s_q, "q");
    if ((sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
        (sha256_ctx = EVP_MD_CTX_new()) == NULL) {
        PyErr_SetString(PyExc_ImportError, "OpenSSL has no SHA-256 here");
        return NULL;
    }
    if ((array_module = PyImport_ImportModule("array")) == NULL)
        return NULL;
    array_type = PyObject_GetAttrString(array_module, "array");
    Py_DECREF(array_module);
    if (array_type == NULL)
        return NULL;
    m = PyModule_Create(&module);
    return m;
}
