//! Pure processing logic.
