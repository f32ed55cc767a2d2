//! How the supervisor answers a message it passes on to an incident.

use actix::dev::{MessageResponse, OneshotSender};
use actix::{Actor, ActorFuture, ActorFutureExt, AsyncContext, Message};
use std::future::Future;
use std::pin::Pin;

/// The supervisor's answer to a message it routes: known at once, a wait
/// for an incident's actor, or work that needs the supervisor again (an
/// actor to start first).
///
/// Waits run as tasks of their own. An actix actor polls every future it
/// holds each time it wakes, so with thousands of commands in flight the
/// supervisor spent most of its time polling waits that were not ready;
/// as tasks, each is polled when its answer arrives.
pub enum Answer<A: Actor, I> {
    Ready(I),
    Wait(Pin<Box<dyn Future<Output = I>>>),
    Act(Pin<Box<dyn ActorFuture<A, Output = I>>>),
}

impl<A: Actor, I: 'static> Answer<A, I> {
    pub(super) fn wait(future: impl Future<Output = I> + 'static) -> Self {
        Answer::Wait(Box::pin(future))
    }

    pub(super) fn act(future: impl ActorFuture<A, Output = I> + 'static) -> Self {
        Answer::Act(Box::pin(future))
    }

    pub(super) fn map<J: 'static>(self, f: impl FnOnce(I) -> J + 'static) -> Answer<A, J> {
        match self {
            Answer::Ready(value) => Answer::Ready(f(value)),
            Answer::Wait(future) => Answer::wait(async move { f(future.await) }),
            Answer::Act(future) => Answer::act(future.map(move |value, _, _| f(value))),
        }
    }

    /// As an actor future, to continue from supervisor work.
    pub(super) fn into_act(self) -> Pin<Box<dyn ActorFuture<A, Output = I>>> {
        match self {
            Answer::Ready(value) => Box::pin(actix::fut::ready(value)),
            Answer::Wait(future) => Box::pin(actix::fut::wrap_future(future)),
            Answer::Act(future) => future,
        }
    }
}

impl<A, M> MessageResponse<A, M> for Answer<A, M::Result>
where
    A: Actor,
    A::Context: AsyncContext<A>,
    M: Message,
    M::Result: 'static,
{
    fn handle(self, ctx: &mut A::Context, tx: Option<OneshotSender<M::Result>>) {
        let send = move |result| {
            // A sender that stopped waiting needs no answer.
            if let Some(tx) = tx {
                let _ = tx.send(result);
            }
        };
        match self {
            Answer::Ready(value) => send(value),
            Answer::Wait(future) => {
                actix::spawn(async move { send(future.await) });
            }
            Answer::Act(future) => {
                ctx.spawn(future.map(move |value, _, _| send(value)));
            }
        }
    }
}
