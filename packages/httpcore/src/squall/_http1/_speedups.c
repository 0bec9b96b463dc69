/*
 * squall._http1._speedups: the hottest pieces of HTTP/1.1 serving in C.
 *
 * parse_request_head(head, max_start_line, max_headers)
 *     Split and validate a complete request head (start line, field lines,
 *     the empty line; any bytes-like object) by the grammar of the
 *     pure-Python parser (squall._http1._pyparser, the reference: RFC 9112
 *     §3, §5; RFC 9110 §5.5, §5.6.2).  It only *accepts*: anything it does not accept, or
 *     that needs more than splitting (a target other than origin-form,
 *     CONNECT, a version other than 1.0 and 1.1, a start line longer than
 *     max_start_line, more than max_headers fields), returns None and the
 *     caller hands the head to the reference code, whose verdict (an error
 *     with its status, or a valid head) is the answer.  So the C code never
 *     decides a rejection, and what it accepts is what the reference
 *     accepts, split the same way (the parser's property tests check both
 *     on generated and mutated heads).
 *
 *     Returns a RequestHead (the type given to configure()) when the fields
 *     with a meaning to the parser are the common ones: at most one Host,
 *     at most one Connection that is "keep-alive" or "close" (either
 *     spelling of RFC 9112 §9.3's options the reference takes without
 *     parsing), at most one Content-Length of 1 to 18 digits, no
 *     Transfer-Encoding, Expect or Upgrade.  keep_alive is then what the
 *     Connection field or the version says, content_length the length or
 *     0.  Otherwise the tuple (method, target, version, fields) for the
 *     caller's semantic checks.
 *
 * take_request_head(buffer, scan, limits)
 *     The server's next request head, straight from the parser's buffer (a
 *     bytearray): the head ending at the first CRLF CRLF found from `scan`,
 *     if the buffer does not start with CR, the head is within
 *     limits.max_header_size and parse_request_head(head,
 *     limits.max_start_line, limits.max_headers) accepts it: that result,
 *     the head removed from the buffer.  None otherwise, the buffer as it
 *     was (the caller's Python code takes it from there).
 *
 * response_head(code, reason, fields, extra, body)
 *     The bytes of "HTTP/1.1 <code> <reason>\r\n", a "Name: value\r\n" line
 *     per item of the dict `fields`, the str `extra` (lines the connection
 *     adds, not checked: CRLF-ended lines), "\r\n", then `body` (a
 *     bytes-like object, or None).  Returns None when a name is not a
 *     token, a value or the reason has CR, LF or NUL, a str is not latin-1
 *     (or not a str), or the code is not 100 to 999: the caller's Python
 *     code raises the precise HTTPOutputError (or handles the unusual
 *     value).
 *
 * usual_response(request_head, start_line, fields, body, no_keep_alive)
 *     The usual response of a server, whole: to an HTTP/1.1 request other
 *     than HEAD that keeps the connection open (and a connection without
 *     no_keep_alive), a status with a body (2xx to 9xx but 204 and 304), a
 *     non-empty reason, a Content-Length of 1 to 18 digits, no Connection
 *     field, a body no longer than the length: (response_head(code, reason,
 *     fields, "", body), the length minus the body's).  None for anything
 *     else: the Python code decides what the head needs (Connection,
 *     chunked framing, no body...).
 *
 * Nothing is kept between calls but interned strings and the type given
 * to configure(); only take_request_head changes an argument (the buffer).
 * CParser (_cparser.py) calls take_request_head, the connection's writer
 * (_conn_writing.py) usual_response and response_head; parse_request_head
 * is the same split on a head given whole (for the tests and other
 * callers).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <strings.h>

/* -- character classes ----------------------------------------------------- */

/* tchar (RFC 9110 §5.6.2): the characters of methods and field names. */
static unsigned char is_tchar[256];
/* The characters of a request target: VCHAR and obs-text (no CTL, SP, DEL). */
static unsigned char is_target_char[256];
/* The characters of a field value: HTAB, SP, VCHAR, obs-text (RFC 9110 §5.5). */
static unsigned char is_value_char[256];

static void
init_tables(void)
{
    const char *extra = "!#$%&'*+-.^_`|~";
    for (int c = 0; c < 256; c++) {
        is_tchar[c] = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        is_target_char[c] = c >= 0x21 && c != 0x7f;
        is_value_char[c] = c == '\t' || (c >= 0x20 && c != 0x7f);
    }
    for (const char *p = extra; *p; p++) {
        is_tchar[(unsigned char)*p] = 1;
    }
}

/* -- interned strings ------------------------------------------------------ */

typedef struct {
    const char *text;
    Py_ssize_t size;
    PyObject *str;
} known_t;

#define KNOWN(text) {text, sizeof(text) - 1, NULL}

static known_t known_methods[] = {
    KNOWN("GET"), KNOWN("POST"), KNOWN("HEAD"), KNOWN("PUT"),
    KNOWN("DELETE"), KNOWN("OPTIONS"), KNOWN("PATCH"), {NULL, 0, NULL},
};

/* Field names as clients usually spell them. */
static known_t known_names[] = {
    KNOWN("Host"),
    KNOWN("User-Agent"),
    KNOWN("Accept"),
    KNOWN("Accept-Encoding"),
    KNOWN("Accept-Language"),
    KNOWN("Connection"),
    KNOWN("Content-Length"),
    KNOWN("Content-Type"),
    KNOWN("Cookie"),
    KNOWN("Cache-Control"),
    KNOWN("Authorization"),
    KNOWN("Referer"),
    KNOWN("Origin"),
    KNOWN("Pragma"),
    KNOWN("If-None-Match"),
    KNOWN("If-Modified-Since"),
    KNOWN("Upgrade-Insecure-Requests"),
    KNOWN("X-Forwarded-For"),
    KNOWN("X-Forwarded-Proto"),
    KNOWN("X-Real-Ip"),
    KNOWN("X-Requested-With"),
    KNOWN("Sec-Fetch-Dest"),
    KNOWN("Sec-Fetch-Mode"),
    KNOWN("Sec-Fetch-Site"),
    KNOWN("Sec-Fetch-User"),
    KNOWN("host"),
    KNOWN("user-agent"),
    KNOWN("accept"),
    KNOWN("accept-encoding"),
    KNOWN("accept-language"),
    KNOWN("content-type"),
    KNOWN("content-length"),
    KNOWN("connection"),
    KNOWN("cookie"),
    {NULL, 0, NULL},
};

static PyObject *str_http11;   /* "HTTP/1.1" */
static PyObject *str_http10;   /* "HTTP/1.0" */
static PyObject *zero;         /* 0 */
static PyObject *empty_str;    /* "" */
static PyTypeObject *request_head_type;  /* squall._http1._events.RequestHead */

static int
intern_known(known_t *table)
{
    for (known_t *k = table; k->text != NULL; k++) {
        k->str = PyUnicode_InternFromString(k->text);
        if (k->str == NULL) {
            return -1;
        }
    }
    return 0;
}

/* A new reference to the str of the ASCII bytes [s, s + size). */
static PyObject *
ascii_str(const unsigned char *s, Py_ssize_t size, known_t *table)
{
    for (known_t *k = table; k->text != NULL; k++) {
        if (k->size == size && memcmp(k->text, s, size) == 0) {
            Py_INCREF(k->str);
            return k->str;
        }
    }
    return PyUnicode_DecodeASCII((const char *)s, size, NULL);
}

/* Whether a call has other than `wanted` arguments (TypeError set, naming `usage`). */
static int
bad_call(Py_ssize_t nargs, Py_ssize_t wanted, const char *usage)
{
    if (nargs == wanted) {
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", usage, wanted, nargs);
    return 1;
}

/* -- parse_request_head ---------------------------------------------------- */

/* What a field name means to the parser (compared without case). */
enum { FIELD_PLAIN, FIELD_HOST, FIELD_CONNECTION, FIELD_CONTENT_LENGTH, FIELD_OTHER };

static int
field_kind(const unsigned char *name, Py_ssize_t size)
{
    const char *s = (const char *)name;
    switch (size) {
    case 4:
        return strncasecmp(s, "host", 4) == 0 ? FIELD_HOST : FIELD_PLAIN;
    case 6:
        return strncasecmp(s, "expect", 6) == 0 ? FIELD_OTHER : FIELD_PLAIN;
    case 7:
        return strncasecmp(s, "upgrade", 7) == 0 ? FIELD_OTHER : FIELD_PLAIN;
    case 10:
        return strncasecmp(s, "connection", 10) == 0 ? FIELD_CONNECTION : FIELD_PLAIN;
    case 14:
        return strncasecmp(s, "content-length", 14) == 0 ? FIELD_CONTENT_LENGTH : FIELD_PLAIN;
    case 17:
        return strncasecmp(s, "transfer-encoding", 17) == 0 ? FIELD_OTHER : FIELD_PLAIN;
    default:
        return FIELD_PLAIN;
    }
}

/* What the fields with a meaning to the parser say, as far as the C code
 * decides it (the common cases; the rest is the Python code's). */
typedef struct {
    int hosts;
    int connections;
    int lengths;
    int other;          /* Transfer-Encoding, Expect or Upgrade */
    int keep_alive;     /* the Connection value: 1 keep-alive, 0 close, -1 anything else */
    long long length;   /* the Content-Length value, -1 if not 1 to 18 digits */
} semantics_t;

/* Whether [s, s + size) is `text` (`size` long) or `text` capitalized. */
static int
is_word(const unsigned char *s, Py_ssize_t size, const char *text, const char *capitalized)
{
    return memcmp(s, text, size) == 0 || memcmp(s, capitalized, size) == 0;
}

static void
note_field(semantics_t *semantics, int kind, const unsigned char *value, Py_ssize_t size)
{
    switch (kind) {
    case FIELD_HOST:
        semantics->hosts++;
        break;
    case FIELD_CONNECTION:
        /* The values whose meaning needs no parsing (RFC 9112 §9.3). */
        semantics->connections++;
        if (size == 10 && is_word(value, size, "keep-alive", "Keep-Alive")) {
            semantics->keep_alive = 1;
        }
        else if (size == 5 && is_word(value, size, "close", "Close")) {
            semantics->keep_alive = 0;
        }
        else {
            semantics->keep_alive = -1;
        }
        break;
    case FIELD_CONTENT_LENGTH:
        /* RFC 9110 §8.6: 1*DIGIT; 18 digits keep it below 2**63. */
        semantics->lengths++;
        semantics->length = size > 0 && size <= 18 ? 0 : -1;
        for (Py_ssize_t i = 0; i < size && semantics->length >= 0; i++) {
            if (value[i] < '0' || value[i] > '9') {
                semantics->length = -1;
            }
            else {
                semantics->length = semantics->length * 10 + (value[i] - '0');
            }
        }
        break;
    case FIELD_OTHER:
        semantics->other = 1;
        break;
    }
}

/* Parse the field lines in [p, end) (end: the final CRLF) into `fields`,
 * noting what they say in `semantics`.  Returns 1 if they are valid, 0 if
 * not (or too many), -1 on a Python error. */
static int
parse_fields(const unsigned char *p, const unsigned char *end, Py_ssize_t max_headers,
             PyObject *fields, semantics_t *semantics)
{
    while (p < end) {
        const unsigned char *name = p;
        while (is_tchar[*p]) {
            p++;
        }
        if (p == name || *p != ':') {
            return 0;  /* empty name, whitespace before the colon, folding, no colon */
        }
        Py_ssize_t name_size = p - name;
        p++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        const unsigned char *value = p;
        while (is_value_char[*p]) {
            p++;
        }
        /* The head ends with "\r\n": a CR is never its last byte. */
        if (*p != '\r' || p[1] != '\n') {
            return 0;  /* a CTL in the value, or a bare CR */
        }
        const unsigned char *value_end = p;
        while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t')) {
            value_end--;
        }
        p += 2;
        if (PyList_GET_SIZE(fields) >= max_headers) {
            return 0;
        }
        int kind = field_kind(name, name_size);
        if (kind != FIELD_PLAIN) {
            note_field(semantics, kind, value, value_end - value);
        }
        PyObject *name_str = ascii_str(name, name_size, known_names);
        if (name_str == NULL) {
            return -1;
        }
        PyObject *value_str = PyUnicode_DecodeLatin1((const char *)value, value_end - value, NULL);
        if (value_str == NULL) {
            Py_DECREF(name_str);
            return -1;
        }
        PyObject *pair = PyTuple_New(2);
        if (pair == NULL) {
            Py_DECREF(name_str);
            Py_DECREF(value_str);
            return -1;
        }
        PyTuple_SET_ITEM(pair, 0, name_str);
        PyTuple_SET_ITEM(pair, 1, value_str);
        int failed = PyList_Append(fields, pair);
        Py_DECREF(pair);
        if (failed) {
            return -1;
        }
    }
    return 1;
}

/* A RequestHead: (method, target, version, fields, keep_alive, content_length,
 * False, False, False).  Steals nothing. */
static PyObject *
plain_request_head(PyObject *method, PyObject *target, PyObject *version, PyObject *fields,
                   int keep_alive, long long content_length)
{
    PyObject *length = content_length ? PyLong_FromLongLong(content_length) : Py_NewRef(zero);
    if (length == NULL) {
        return NULL;
    }
    PyObject *head = request_head_type->tp_alloc(request_head_type, 9);
    if (head == NULL) {
        Py_DECREF(length);
        return NULL;
    }
    PyObject *items[9] = {
        method, target, version, fields, keep_alive ? Py_True : Py_False, length,
        Py_False, Py_False, Py_False,
    };
    for (int i = 0; i < 9; i++) {
        Py_INCREF(items[i]);
        PyTuple_SET_ITEM(head, i, items[i]);
    }
    Py_DECREF(length);
    return head;
}

/* parse_request_head's work on the head [s, s + n): a new reference to the
 * result (Py_None included), NULL on a Python error. */
static PyObject *
split_head(const unsigned char *s, Py_ssize_t n, Py_ssize_t max_start_line,
           Py_ssize_t max_headers)
{
    /* Every scan below stops at a CR at the latest: the head must end with
     * the empty line for that (and be at least a start line's worth). */
    if (n < 16 || memcmp(s + n - 4, "\r\n\r\n", 4) != 0) {
        Py_RETURN_NONE;
    }
    const unsigned char *end = s + n - 2;
    const unsigned char *p = s;

    /* request-line = method SP request-target SP HTTP-version CRLF */
    while (is_tchar[*p]) {
        p++;
    }
    Py_ssize_t method_size = p - s;
    if (method_size == 0 || *p != ' ') {
        Py_RETURN_NONE;
    }
    const unsigned char *target = ++p;
    while (is_target_char[*p]) {
        p++;
    }
    Py_ssize_t target_size = p - target;
    if (target_size == 0 || *p != ' ' || *target != '/') {
        Py_RETURN_NONE;  /* not origin-form: the reference's rules */
    }
    p++;
    if (end - p < 10 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '1' && p[7] != '0')
        || p[8] != '\r' || p[9] != '\n') {
        Py_RETURN_NONE;
    }
    if ((p + 8) - s > max_start_line) {
        Py_RETURN_NONE;  /* 414 */
    }
    if (method_size == 7 && memcmp(s, "CONNECT", 7) == 0) {
        Py_RETURN_NONE;
    }
    PyObject *version = p[7] == '1' ? str_http11 : str_http10;
    p += 10;

    PyObject *fields = PyList_New(0);
    if (fields == NULL) {
        return NULL;
    }
    semantics_t semantics = {0, 0, 0, 0, -1, -1};
    int valid = parse_fields(p, end, max_headers, fields, &semantics);
    if (valid <= 0) {
        Py_DECREF(fields);
        if (valid < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    PyObject *method_str = ascii_str(s, method_size, known_methods);
    if (method_str == NULL) {
        Py_DECREF(fields);
        return NULL;
    }
    PyObject *target_str = PyUnicode_DecodeLatin1((const char *)target, target_size, NULL);
    if (target_str == NULL) {
        Py_DECREF(method_str);
        Py_DECREF(fields);
        return NULL;
    }
    PyObject *result;
    /* The common cases are decided here: at most one Host, no
     * Transfer-Encoding, Expect or Upgrade, and at most one Connection
     * ("keep-alive" or "close") and one valid Content-Length. */
    int plain = semantics.hosts <= 1 && !semantics.other && semantics.connections <= 1
                && semantics.lengths <= 1 && (!semantics.connections || semantics.keep_alive >= 0)
                && (!semantics.lengths || semantics.length >= 0);
    if (plain && request_head_type != NULL) {
        int keep_alive = semantics.connections ? semantics.keep_alive : version == str_http11;
        long long length = semantics.lengths ? semantics.length : 0;
        result = plain_request_head(method_str, target_str, version, fields, keep_alive, length);
    }
    else {
        result = PyTuple_Pack(4, method_str, target_str, version, fields);
    }
    Py_DECREF(method_str);
    Py_DECREF(target_str);
    Py_DECREF(fields);
    return result;
}

static PyObject *
parse_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (bad_call(nargs, 3, "parse_request_head(head, max_start_line, max_headers)")) {
        return NULL;
    }
    Py_ssize_t max_start_line = PyLong_AsSsize_t(args[1]);
    if (max_start_line == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t max_headers = PyLong_AsSsize_t(args[2]);
    if (max_headers == -1 && PyErr_Occurred()) {
        return NULL;
    }
    /* Held while splitting: a bytearray cannot be resized under us (by a
     * finalizer that a garbage collection would run, say). */
    Py_buffer head;
    if (PyObject_GetBuffer(args[0], &head, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    PyObject *result = split_head(head.buf, head.len, max_start_line, max_headers);
    PyBuffer_Release(&head);
    return result;
}

static PyObject *str_max_header_size, *str_max_start_line, *str_max_headers;

/* The int attribute `name` of `object`; -1 with an exception on failure. */
static Py_ssize_t
size_attribute(PyObject *object, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(object, name);
    if (value == NULL) {
        return -1;
    }
    Py_ssize_t size = PyLong_AsSsize_t(value);
    Py_DECREF(value);
    if (size < 0 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "take_request_head: a negative limit");
    }
    return size;
}

/* The first CRLF CRLF in [s, s + n), or NULL. */
static const unsigned char *
find_empty_line(const unsigned char *s, Py_ssize_t n)
{
    if (n < 4) {
        return NULL;
    }
    const unsigned char *p = s, *last = s + n - 4;
    while (p <= last && (p = memchr(p, '\r', last - p + 1)) != NULL) {
        if (p[1] == '\n' && p[2] == '\r' && p[3] == '\n') {
            return p;
        }
        p++;
    }
    return NULL;
}

static PyObject *
take_request_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (bad_call(nargs, 3, "take_request_head(buffer: bytearray, scan, limits)")) {
        return NULL;
    }
    if (!PyByteArray_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "take_request_head: the buffer must be a bytearray");
        return NULL;
    }
    PyObject *buffer = args[0];
    Py_ssize_t scan = PyLong_AsSsize_t(args[1]);
    if (scan == -1 && PyErr_Occurred()) {
        return NULL;
    }
    /* The limits first: reading them may run Python code. */
    PyObject *limits = args[2];
    Py_ssize_t max_header_size = size_attribute(limits, str_max_header_size);
    if (max_header_size < 0) {
        return NULL;
    }
    Py_ssize_t max_start_line = size_attribute(limits, str_max_start_line);
    if (max_start_line < 0) {
        return NULL;
    }
    Py_ssize_t max_headers = size_attribute(limits, str_max_headers);
    if (max_headers < 0) {
        return NULL;
    }
    /* Held while splitting: the buffer cannot be resized under us. */
    Py_buffer view;
    if (PyObject_GetBuffer(buffer, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const unsigned char *s = view.buf;
    Py_ssize_t n = view.len;
    PyObject *result = NULL;  /* a new reference once split_head ran */
    int split = 0;
    Py_ssize_t size = 0;
    /* Leading empty lines, and what has no complete head, are the reference's. */
    if (n >= 16 && s[0] != '\r' && scan >= 0 && scan <= n) {
        const unsigned char *found = find_empty_line(s + scan, n - scan);
        if (found != NULL) {
            size = (found - s) + 4;
            if (size <= max_header_size) {  /* beyond it: 431 */
                result = split_head(s, size, max_start_line, max_headers);
                split = 1;
            }
        }
    }
    PyBuffer_Release(&view);
    if (!split) {
        Py_RETURN_NONE;
    }
    if (result != NULL && result != Py_None) {
        int failed = size == n ? PyByteArray_Resize(buffer, 0)
                               : PySequence_DelSlice(buffer, 0, size);
        if (failed) {
            Py_CLEAR(result);
        }
    }
    return result;
}

/* -- response_head --------------------------------------------------------- */

/* The latin-1 bytes of `text` if it is a str of them, without CR, LF or NUL
 * (and, with `token`, a non-empty token); NULL otherwise (no exception). */
static const char *
safe_latin1(PyObject *text, Py_ssize_t *size, int token)
{
    if (!PyUnicode_Check(text) || PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND) {
        return NULL;
    }
    const unsigned char *data = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    if (token) {
        if (length == 0) {
            return NULL;
        }
        for (Py_ssize_t i = 0; i < length; i++) {
            if (!is_tchar[data[i]]) {
                return NULL;
            }
        }
    }
    else if (memchr(data, '\r', length) || memchr(data, '\n', length)
             || memchr(data, '\0', length)) {
        return NULL;
    }
    *size = length;
    return (const char *)data;
}

/* The bytes of "HTTP/1.1 <code> <reason>\r\n", the lines of `fields`,
 * `extra`, "\r\n" and `body`; Py_None (a new reference) when a value is
 * unusual (see the module's comment), NULL on a Python error. */
static PyObject *
build_head(long code, PyObject *reason_obj, PyObject *fields, PyObject *extra_obj,
           const Py_buffer *body)
{
    Py_ssize_t reason_size, extra_size;
    const char *reason = safe_latin1(reason_obj, &reason_size, 0);
    /* `extra` is lines the connection made (CRLF in them): latin-1 is all. */
    if (code < 100 || code > 999 || reason == NULL || !PyUnicode_Check(extra_obj)
        || PyUnicode_KIND(extra_obj) != PyUnicode_1BYTE_KIND) {
        Py_RETURN_NONE;
    }
    const char *extra = (const char *)PyUnicode_1BYTE_DATA(extra_obj);
    extra_size = PyUnicode_GET_LENGTH(extra_obj);
    /* "HTTP/1.1 200 " reason CRLF, the lines, extra, CRLF, body */
    Py_ssize_t size = 13 + reason_size + 2 + extra_size + 2 + body->len;
    Py_ssize_t position = 0;
    PyObject *name, *value;
    while (PyDict_Next(fields, &position, &name, &value)) {
        Py_ssize_t name_size, value_size;
        if (safe_latin1(name, &name_size, 1) == NULL
            || safe_latin1(value, &value_size, 0) == NULL) {
            Py_RETURN_NONE;
        }
        size += name_size + 2 + value_size + 2;
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, size);
    if (result == NULL) {
        return NULL;
    }
    char *out = PyBytes_AS_STRING(result);
    memcpy(out, "HTTP/1.1 ", 9);
    out[9] = (char)('0' + code / 100);
    out[10] = (char)('0' + code / 10 % 10);
    out[11] = (char)('0' + code % 10);
    out[12] = ' ';
    out += 13;
    memcpy(out, reason, reason_size);
    out += reason_size;
    *out++ = '\r';
    *out++ = '\n';
    position = 0;
    while (PyDict_Next(fields, &position, &name, &value)) {
        /* Checked above; the dict cannot change in between (no Python code ran). */
        Py_ssize_t name_size = PyUnicode_GET_LENGTH(name);
        Py_ssize_t value_size = PyUnicode_GET_LENGTH(value);
        memcpy(out, PyUnicode_1BYTE_DATA(name), name_size);
        out += name_size;
        *out++ = ':';
        *out++ = ' ';
        memcpy(out, PyUnicode_1BYTE_DATA(value), value_size);
        out += value_size;
        *out++ = '\r';
        *out++ = '\n';
    }
    memcpy(out, extra, extra_size);
    out += extra_size;
    *out++ = '\r';
    *out++ = '\n';
    if (body->len) {
        memcpy(out, body->buf, body->len);
    }
    return result;
}

/* `object`'s bytes in `view` (an empty view for None); -1 on error. */
static int
get_body(PyObject *object, Py_buffer *view)
{
    if (object == Py_None) {
        memset(view, 0, sizeof(*view));
        return 0;
    }
    return PyObject_GetBuffer(object, view, PyBUF_SIMPLE);
}

static void
release_body(Py_buffer *view)
{
    if (view->obj != NULL) {
        PyBuffer_Release(view);
    }
}

static PyObject *
response_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (bad_call(nargs, 5, "response_head(code, reason, fields, extra, body)")) {
        return NULL;
    }
    if (!PyDict_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "response_head: fields must be a dict");
        return NULL;
    }
    if (!PyLong_Check(args[0])) {
        Py_RETURN_NONE;
    }
    long code = PyLong_AsLong(args[0]);
    if (code == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;  /* too large: the Python code says so */
    }
    Py_buffer body;
    if (get_body(args[4], &body) < 0) {
        return NULL;
    }
    PyObject *result = build_head(code, args[1], args[2], args[3], &body);
    release_body(&body);
    return result;
}

/* A Content-Length value as the number it is, or -1 if it is not 1 to 18
 * ASCII digits in a str (the Python code deals with anything else). */
static long long
content_length_of(PyObject *value)
{
    if (value == NULL || !PyUnicode_Check(value)
        || PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND) {
        return -1;
    }
    Py_ssize_t size = PyUnicode_GET_LENGTH(value);
    const unsigned char *digits = PyUnicode_1BYTE_DATA(value);
    if (size == 0 || size > 18) {
        return -1;
    }
    long long length = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        if (digits[i] < '0' || digits[i] > '9') {
            return -1;
        }
        length = length * 10 + (digits[i] - '0');
    }
    return length;
}

static PyObject *str_head_method;      /* "HEAD" */
static PyObject *str_content_length;   /* "Content-Length" */
static PyObject *str_connection;       /* "Connection" */

/* Whether `object` is the str `interned` (same object, or equal). */
static int
is_str(PyObject *object, PyObject *interned)
{
    return object == interned
        || (PyUnicode_Check(object) && PyUnicode_Compare(object, interned) == 0);
}

static PyObject *
usual_response(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (bad_call(nargs, 5, "usual_response(request_head, start_line, fields, body, no_keep_alive)")) {
        return NULL;
    }
    PyObject *request = args[0], *start_line = args[1], *fields = args[2];
    if (!PyTuple_Check(request) || PyTuple_GET_SIZE(request) < 5
        || !PyTuple_Check(start_line) || PyTuple_GET_SIZE(start_line) < 3
        || !PyDict_Check(fields)) {
        PyErr_SetString(PyExc_TypeError, "usual_response: a RequestHead, a ResponseStartLine, a dict");
        return NULL;
    }
    int no_keep_alive = PyObject_IsTrue(args[4]);
    if (no_keep_alive < 0) {
        return NULL;
    }
    /* The request: HTTP/1.1, not HEAD, the connection kept open. */
    if (no_keep_alive || PyTuple_GET_ITEM(request, 4) != Py_True
        || !is_str(PyTuple_GET_ITEM(request, 2), str_http11)
        || is_str(PyTuple_GET_ITEM(request, 0), str_head_method)) {
        Py_RETURN_NONE;
    }
    /* The response: a status with a body, a length, no Connection field. */
    PyObject *code_obj = PyTuple_GET_ITEM(start_line, 1);
    if (!PyLong_Check(code_obj)) {
        Py_RETURN_NONE;
    }
    long code = PyLong_AsLong(code_obj);
    if (code == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *reason = PyTuple_GET_ITEM(start_line, 2);
    if (code < 200 || code == 204 || code == 304 || !PyUnicode_Check(reason)
        || PyUnicode_GET_LENGTH(reason) == 0) {
        Py_RETURN_NONE;
    }
    PyObject *connection = PyDict_GetItemWithError(fields, str_connection);
    if (connection != NULL || PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    long long length = content_length_of(PyDict_GetItemWithError(fields, str_content_length));
    if (length < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    Py_buffer body;
    if (get_body(args[3], &body) < 0) {
        return NULL;
    }
    if (body.len > length) {
        release_body(&body);
        Py_RETURN_NONE;  /* more than the length: the Python code's error */
    }
    Py_ssize_t body_size = body.len;
    PyObject *data = build_head(code, reason, fields, empty_str, &body);
    release_body(&body);
    if (data == NULL || data == Py_None) {
        return data;
    }
    PyObject *remaining = PyLong_FromLongLong(length - body_size);
    if (remaining == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(data);
        Py_DECREF(remaining);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, data);
    PyTuple_SET_ITEM(result, 1, remaining);
    return result;
}

/* -- the module ------------------------------------------------------------ */

static PyObject *
configure(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type) || !PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "configure(RequestHead): a tuple subclass");
        return NULL;
    }
    Py_INCREF(type);
    Py_XSETREF(request_head_type, (PyTypeObject *)type);
    Py_RETURN_NONE;
}

static PyMethodDef speedups_methods[] = {
    {"parse_request_head", (PyCFunction)(void (*)(void))parse_request_head, METH_FASTCALL,
     "parse_request_head(head, max_start_line, max_headers) -> RequestHead | tuple | None"},
    {"take_request_head", (PyCFunction)(void (*)(void))take_request_head, METH_FASTCALL,
     "take_request_head(buffer, scan, limits) -> RequestHead | tuple | None"},
    {"response_head", (PyCFunction)(void (*)(void))response_head, METH_FASTCALL,
     "response_head(code, reason, fields, extra, body) -> bytes | None"},
    {"usual_response", (PyCFunction)(void (*)(void))usual_response, METH_FASTCALL,
     "usual_response(request_head, start_line, fields, body, no_keep_alive)"
     " -> (bytes, remaining) | None"},
    {"configure", configure, METH_O,
     "configure(RequestHead): the type of the heads parse_request_head builds"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "squall._http1._speedups",
    "The HTTP/1.1 hot path in C (see the source for the contracts).",
    -1,
    speedups_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    init_tables();
    if (intern_known(known_methods) < 0 || intern_known(known_names) < 0) {
        return NULL;
    }
    str_http11 = PyUnicode_InternFromString("HTTP/1.1");
    str_http10 = PyUnicode_InternFromString("HTTP/1.0");
    zero = PyLong_FromLong(0);
    empty_str = PyUnicode_InternFromString("");
    str_head_method = PyUnicode_InternFromString("HEAD");
    str_content_length = PyUnicode_InternFromString("Content-Length");
    str_connection = PyUnicode_InternFromString("Connection");
    str_max_header_size = PyUnicode_InternFromString("max_header_size");
    str_max_start_line = PyUnicode_InternFromString("max_start_line");
    str_max_headers = PyUnicode_InternFromString("max_headers");
    if (str_http11 == NULL || str_http10 == NULL || zero == NULL || empty_str == NULL
        || str_head_method == NULL || str_content_length == NULL || str_connection == NULL
        || str_max_header_size == NULL || str_max_start_line == NULL || str_max_headers == NULL) {
        return NULL;
    }
    return PyModule_Create(&speedups_module);
}
