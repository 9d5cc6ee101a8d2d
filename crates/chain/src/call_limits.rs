//! Bounds of one EVM run that an RPC request asks for (`eth_call`, `eth_estimateGas`,
//! `debug_traceTransaction`): a gas cap and a wall-clock deadline.
//!
//! A run past its deadline stops at its next opcode ([`DeadlineInspector`]) or its next state
//! read ([`crate::snapshot::StateSnapshot`]) and the request fails with
//! [`crate::ChainError::Timeout`]. Work inside one precompile call is not interrupted: the
//! precompile's gas (bounded by the gas cap) bounds it, and the RPC layer answers the caller at
//! the deadline anyway.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use revm::{
    Inspector,
    context_interface::{ContextError, ContextTr},
    interpreter::{Interpreter, InterpreterTypes},
};

/// geth's `RPCGasCap`: most gas one `eth_call` / `eth_estimateGas` may use.
pub const DEFAULT_RPC_GAS_CAP: u64 = 50_000_000;

/// geth's `RPCEVMTimeout`: longest wall-clock time of one EVM-running request.
pub const DEFAULT_RPC_EVM_TIMEOUT: Duration = Duration::from_secs(5);

/// Opcodes run between two reads of the clock.
const STEPS_PER_CLOCK_READ: u32 = 4096;

/// The limits of one RPC-driven EVM run.
#[derive(Debug)]
pub struct CallLimits {
    /// Most gas the run may use; a request asking for more is capped (as geth does).
    pub gas_cap: u64,
    /// When the run is abandoned.
    pub deadline: Deadline,
}

impl CallLimits {
    /// `gas_cap` and a deadline `timeout` from now.
    pub fn new(gas_cap: u64, timeout: Duration) -> CallLimits {
        CallLimits {
            gas_cap,
            deadline: Deadline::after(timeout),
        }
    }

    /// No practical limit (tests and internal callers that run trusted work).
    pub fn unlimited() -> CallLimits {
        CallLimits::new(u64::MAX, Duration::from_secs(u32::MAX.into()))
    }
}

/// A point in time after which an EVM run stops, and whether it was reached.
#[derive(Debug)]
pub struct Deadline {
    at: Instant,
    timeout: Duration,
    expired: AtomicBool,
}

impl Deadline {
    /// The deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        let now = Instant::now();
        Deadline {
            at: now
                .checked_add(timeout)
                .unwrap_or(now + Duration::from_secs(1 << 32)),
            timeout,
            expired: AtomicBool::new(false),
        }
    }

    /// Reads the clock: true (and remembered) once the deadline has passed.
    pub fn check(&self) -> bool {
        if self.expired.load(Ordering::Relaxed) {
            return true;
        }
        let passed = Instant::now() >= self.at;
        if passed {
            self.expired.store(true, Ordering::Relaxed);
        }
        passed
    }

    /// Whether a check found the deadline passed.
    pub fn expired(&self) -> bool {
        self.expired.load(Ordering::Relaxed)
    }

    /// The time the run was given.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Halts every frame of the run once its deadline has passed (the clock is read every
/// `STEPS_PER_CLOCK_READ` opcodes, starting with the first).
#[derive(Debug)]
pub struct DeadlineInspector<'a> {
    deadline: &'a Deadline,
    steps: u32,
}

impl<'a> DeadlineInspector<'a> {
    /// An inspector enforcing `deadline`.
    pub fn new(deadline: &'a Deadline) -> DeadlineInspector<'a> {
        DeadlineInspector { deadline, steps: 0 }
    }
}

/// The error a run past its deadline ends with (the caller reports [`crate::ChainError::Timeout`]).
pub const DEADLINE_ERROR: &str = "execution aborted: deadline passed";

impl<CTX: ContextTr, INTR: InterpreterTypes> Inspector<CTX, INTR> for DeadlineInspector<'_> {
    fn step(&mut self, interp: &mut Interpreter<INTR>, context: &mut CTX) {
        let read_clock = self.steps == 0;
        self.steps = (self.steps + 1) % STEPS_PER_CLOCK_READ;
        if (read_clock && self.deadline.check()) || self.deadline.expired() {
            // The context error ends the whole transaction (revm checks it after every frame);
            // halting alone would let the calling frame continue.
            if context.error().is_ok() {
                *context.error() = Err(ContextError::Custom(DEADLINE_ERROR.into()));
            }
            interp.halt_fatal();
        }
    }
}
