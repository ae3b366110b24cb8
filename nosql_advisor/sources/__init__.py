"""Where documents come from: a live server (live.py), a mongodump directory (dump.py), a
mongoexport file (export.py). Each yields `(document, bson_size)` pairs per namespace."""
