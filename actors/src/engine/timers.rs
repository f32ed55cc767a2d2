//! The timer wheel: one actor that owns every pending reminder of the
//! incidents this process runs, sleeps until the earliest, and tells the
//! supervisor when one falls due.
//!
//! It holds wake-ups only. What is due is decided from each incident's
//! persisted state (`incident::schedule`), so a wake-up that was
//! superseded (the lead was assigned meanwhile) finds nothing to do, and a
//! restart rebuilds the wheel from the store without losing or repeating
//! a reminder.

use super::supervisor::TimerFired;
use crate::clock::Clock;
use crate::incident::IncidentId;
use crate::store::PendingTimer;
use actix::{
    Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, Recipient, SpawnHandle,
    WrapFuture,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

pub struct TimerWheel {
    clock: Arc<dyn Clock>,
    supervisor: Option<Recipient<TimerFired>>,
    /// Ordered by due time: the first entry is the next wake-up.
    queue: BTreeSet<(DateTime<Utc>, IncidentId, String)>,
    by_incident: HashMap<IncidentId, Vec<(DateTime<Utc>, String)>>,
    sleeping: Option<(DateTime<Utc>, SpawnHandle)>,
}

impl TimerWheel {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            supervisor: None,
            queue: BTreeSet::new(),
            by_incident: HashMap::new(),
            sleeping: None,
        }
    }

    /// Sleeps until the earliest due time, unless already sleeping until
    /// exactly then.
    fn arm(&mut self, ctx: &mut Context<Self>) {
        let next = self.queue.first().map(|(at, _, _)| *at);
        match (&self.sleeping, next) {
            (Some((at, _)), Some(next)) if *at == next => return,
            _ => {}
        }
        if let Some((_, handle)) = self.sleeping.take() {
            ctx.cancel_future(handle);
        }
        if let Some(next) = next {
            let sleep = self
                .clock
                .sleep_until(next)
                .into_actor(self)
                .map(|(), wheel, ctx| {
                    wheel.sleeping = None;
                    wheel.fire_due(ctx);
                });
            self.sleeping = Some((next, ctx.spawn(sleep)));
        }
    }

    fn fire_due(&mut self, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        while let Some((at, incident, reminder)) = self.queue.first().cloned() {
            if at > now {
                break;
            }
            self.queue.remove(&(at, incident, reminder.clone()));
            if let Some(timers) = self.by_incident.get_mut(&incident) {
                timers.retain(|(due, name)| !(*due == at && *name == reminder));
            }
            if let Some(supervisor) = &self.supervisor {
                // The supervisor lives as long as the process.
                supervisor.do_send(TimerFired { incident, reminder });
            }
        }
        self.arm(ctx);
    }
}

impl Actor for TimerWheel {
    type Context = Context<Self>;
}

/// Where fired timers go (the supervisor); sent once at start-up.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AttachSupervisor(pub Recipient<TimerFired>);

impl Handler<AttachSupervisor> for TimerWheel {
    type Result = ();

    fn handle(&mut self, message: AttachSupervisor, ctx: &mut Self::Context) {
        self.supervisor = Some(message.0);
        self.fire_due(ctx);
    }
}

/// The incident's pending timers are now these (replacing the old ones).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Reschedule {
    pub incident: IncidentId,
    pub timers: Vec<PendingTimer>,
}

impl Handler<Reschedule> for TimerWheel {
    type Result = ();

    fn handle(&mut self, message: Reschedule, ctx: &mut Self::Context) {
        for (at, reminder) in self
            .by_incident
            .remove(&message.incident)
            .unwrap_or_default()
        {
            self.queue.remove(&(at, message.incident, reminder));
        }
        let timers: Vec<(DateTime<Utc>, String)> = message
            .timers
            .into_iter()
            .map(|timer| (timer.due_at, timer.reminder))
            .collect();
        for (at, reminder) in &timers {
            self.queue.insert((*at, message.incident, reminder.clone()));
        }
        if !timers.is_empty() {
            self.by_incident.insert(message.incident, timers);
        }
        // Something may already be due (a timer that fell due while the
        // process was down fires at once).
        self.fire_due(ctx);
    }
}

/// How many timers are pending (for `/metrics` and the benchmarks).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "usize")]
pub struct PendingCount;

impl Handler<PendingCount> for TimerWheel {
    type Result = usize;

    fn handle(&mut self, _message: PendingCount, _ctx: &mut Self::Context) -> usize {
        self.queue.len()
    }
}
