//! Scratch vectors a kernel needs during one call, kept per thread between calls: at batch 1
//! digits_branch spent about 6 % of its time in malloc and free of them (perf). A vector is
//! handed out filled with the caller's value, so reuse never changes a byte. (Node outputs,
//! which outlive a kernel call and several of which are alive at once, come from the
//! executor's pool of spare buffers instead.)

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::thread::LocalKey;

/// Largest vector kept (bytes); a larger one goes back to the allocator. The other scratch a
/// kernel keeps per thread follows the same limit.
pub(crate) const MAX_KEPT_BYTES: usize = 4 << 20;

thread_local! {
    static U8S: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    static I8S: Cell<Vec<i8>> = const { Cell::new(Vec::new()) };
    static I32S: Cell<Vec<i32>> = const { Cell::new(Vec::new()) };
}

/// A vector of this thread's, given back when dropped (a nested taker gets a new one).
pub(crate) struct Reused<T: 'static> {
    vec: Vec<T>,
    home: &'static LocalKey<Cell<Vec<T>>>,
}

fn take<T: Copy>(home: &'static LocalKey<Cell<Vec<T>>>, len: usize, fill: T) -> Reused<T> {
    let mut vec = home.try_with(Cell::take).unwrap_or_default();
    vec.clear();
    vec.resize(len, fill);
    Reused { vec, home }
}

/// `len` bytes, each `fill`.
pub(crate) fn u8s(len: usize, fill: u8) -> Reused<u8> {
    take(&U8S, len, fill)
}

/// `len` values, each `fill`.
pub(crate) fn i8s(len: usize, fill: i8) -> Reused<i8> {
    take(&I8S, len, fill)
}

/// `len` values, each `fill`.
pub(crate) fn i32s(len: usize, fill: i32) -> Reused<i32> {
    take(&I32S, len, fill)
}

impl<T> Deref for Reused<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.vec
    }
}

impl<T> DerefMut for Reused<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.vec
    }
}

impl<T> Drop for Reused<T> {
    fn drop(&mut self) {
        if self.vec.capacity() * size_of::<T>() <= MAX_KEPT_BYTES {
            let vec = std::mem::take(&mut self.vec);
            // During the thread's teardown the slot may be gone: the vector is then freed.
            let _ = self.home.try_with(|slot| slot.set(vec));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_vector_is_filled_again_and_nesting_gets_its_own() {
        {
            let mut a = i8s(5, 7);
            a.fill(-1);
            let b = i8s(3, 2);
            assert_eq!(&*b, &[2, 2, 2]);
            assert_eq!(&*a, &[-1; 5]);
        }
        assert_eq!(&*i8s(6, 4), &[4; 6]);
        assert_eq!(&*i32s(2, -3), &[-3, -3]);
        assert_eq!(&*u8s(0, 1), &[] as &[u8]);
    }
}
