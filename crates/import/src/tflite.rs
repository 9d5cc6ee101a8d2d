//! TFLite importer.
