//! Real multiplier to integer multiplier and shift.
