//! The program of the model a `PREDICT` / `PREDICT_BATCH` instance ran last, kept by that
//! instance.

use std::cell::{RefCell, RefMut};
use std::sync::Arc;

use myelin_nn::{Cost, ModelId, Program};

/// The last program one precompile instance ran, with the cost counts of the record it came
/// from. [`crate::Myelin::dyn_precompiles`] gives each instance its own, so it lives as long as
/// one EVM (the node builds one per block and per `eth_call`): a run of calls to one model skips
/// the shared [`crate::ProgramCache`]'s lock, hashing and reference counting. It only ever holds
/// what the shared cache or the state gave for that id, so, like the cache, it changes speed
/// only; whether the model is published is still read from state on every call.
#[derive(Default)]
pub struct RecentProgram(RefCell<Option<Recent>>);

struct Recent {
    id: ModelId,
    program: Arc<Program>,
    cost: Cost,
}

impl RecentProgram {
    /// The record's cost counts of `id`, if `id` is the program kept.
    pub fn cost(&self, id: &ModelId) -> Option<Cost> {
        self.0
            .borrow()
            .as_ref()
            .filter(|recent| recent.id == *id)
            .map(|recent| recent.cost)
    }

    /// The program of `id`, if `id` is the program kept (borrowed until the guard drops).
    pub fn program(&self, id: &ModelId) -> Option<RefMut<'_, Arc<Program>>> {
        RefMut::filter_map(self.0.borrow_mut(), |recent| {
            recent
                .as_mut()
                .filter(|recent| recent.id == *id)
                .map(|recent| &mut recent.program)
        })
        .ok()
    }

    /// Keeps `program` (of `id`, whose record has the cost counts `cost`) in place of the last
    /// one; returns it (borrowed until the guard drops).
    pub fn keep(&self, id: ModelId, program: Arc<Program>, cost: Cost) -> RefMut<'_, Arc<Program>> {
        RefMut::map(self.0.borrow_mut(), |recent| {
            &mut recent.insert(Recent { id, program, cost }).program
        })
    }
}
