/* module.c: the nosql_advisor._shapecore extension module (the native inference core).
 *
 * The pure-Python shape/infer.py is the reference and the fallback; this module only makes the
 * same inference faster (shape/native.py drives it; NOSQL_ADVISOR_ENGINE=python forces Python).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "values.h"

extern PyTypeObject WalkerType;  /* walker.c */

static struct PyModuleDef shapecore_module = {
    PyModuleDef_HEAD_INIT, "_shapecore",
    "The native shape inference core: walks raw BSON into infer.py's statistics.", -1,
    values_test_methods,
};

PyMODINIT_FUNC PyInit__shapecore(void) {
    PyObject *module = PyModule_Create(&shapecore_module);
    if (module == NULL) return NULL;
    if (PyType_Ready(&WalkerType) < 0) { Py_DECREF(module); return NULL; }
    Py_INCREF(&WalkerType);
    if (PyModule_AddObject(module, "Walker", (PyObject *)&WalkerType) < 0) {
        Py_DECREF(&WalkerType); Py_DECREF(module); return NULL;
    }
    return module;
}
