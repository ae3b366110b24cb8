"""Where documents come from: a live server (live.py), a mongodump directory (dump.py), a
mongoexport file (export.py), files found and read by filesource.py. Each yields its collections,
each with its CollectionInfo and its documents as raw-BSON batches (base.RawBatch)."""
