//! One actor per live incident. Every handler is atomic: it works on a
//! copy of the incident and puts it back when done, so a second command
//! to the same incident waits until the first has been persisted and its
//! effects carried out.

use super::chat::{self, Said};
use super::messages::{
    ApplyChat, ApplyCommand, ApplyEdits, FireTimer, OpenEditForm, RecordConversationRename, Reply,
    Snapshot, Welcome,
};
use super::run::{self, SharedCore};
use super::supervisor::{ActorStopped, BindConversation, Supervisor};
use super::EngineError;
use crate::incident::Incident;
use actix::{
    Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, AtomicResponse, Context, Handler,
    WrapFuture,
};
use std::future::Future;
use tracing::Instrument;

pub struct IncidentActor {
    core: SharedCore,
    incident: Incident,
    supervisor: Addr<Supervisor>,
    generation: u64,
}

impl IncidentActor {
    pub(super) fn new(
        core: SharedCore,
        incident: Incident,
        supervisor: Addr<Supervisor>,
        generation: u64,
    ) -> Self {
        Self {
            core,
            incident,
            supervisor,
            generation,
        }
    }

    fn span(&self) -> tracing::Span {
        tracing::info_span!("incident", incident = %self.incident.id(), platform = %self.incident.platform())
    }

    /// Runs `work` on a copy of the incident and stores the copy back when
    /// it finishes; the handler is atomic, so no other message sees the
    /// incident half-changed.
    fn atomically<R, F, Fut>(&mut self, work: F) -> AtomicResponse<Self, R>
    where
        R: 'static,
        F: FnOnce(SharedCore, Incident) -> Fut,
        Fut: Future<Output = (Incident, R)> + 'static,
    {
        let span = self.span();
        let future = work(self.core.clone(), self.incident.clone())
            .instrument(span)
            .into_actor(self)
            .map(|(incident, result), actor, ctx| {
                actor.replace(incident);
                if actor.incident.is_final() {
                    ctx.stop();
                }
                result
            });
        AtomicResponse::new(Box::pin(future))
    }

    /// Takes the new state and tells the supervisor if the incident got a
    /// conversation, so chat events there find their way here.
    fn replace(&mut self, incident: Incident) {
        let opened = incident.conversation() != self.incident.conversation();
        self.incident = incident;
        if let (true, Some(conversation)) = (opened, self.incident.conversation()) {
            self.supervisor.do_send(BindConversation {
                incident: self.incident.id(),
                conversation: conversation.clone(),
            });
        }
    }
}

impl Actor for IncidentActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let span = self.span();
        let core = self.core.clone();
        let mut incident = self.incident.clone();
        let reconcile = async move {
            let result = run::reconcile(&core, &mut incident).await;
            (incident, result)
        }
        .instrument(span)
        .into_actor(self)
        .map(|(incident, result), actor, _ctx| {
            actor.replace(incident);
            if let Err(error) = result {
                tracing::error!(incident = %actor.incident.id(), %error, "could not reconcile the incident with its platform");
            }
        });
        // `wait` holds every other message back until the incident has its
        // conversation and headline.
        ctx.wait(reconcile);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        // The supervisor outlives every incident actor, so this arrives.
        self.supervisor.do_send(ActorStopped {
            incident: self.incident.id(),
            generation: self.generation,
            is_final: self.incident.is_final(),
        });
    }
}

impl Handler<ApplyCommand> for IncidentActor {
    type Result = AtomicResponse<Self, Result<Reply, EngineError>>;

    fn handle(&mut self, message: ApplyCommand, _ctx: &mut Self::Context) -> Self::Result {
        self.atomically(move |core, mut incident| async move {
            let result = chat::apply_line(&core, &mut incident, &Said::Typed(message)).await;
            (incident, result)
        })
    }
}

impl Handler<Welcome> for IncidentActor {
    type Result = AtomicResponse<Self, Result<Reply, EngineError>>;

    fn handle(&mut self, message: Welcome, _ctx: &mut Self::Context) -> Self::Result {
        self.atomically(move |core, mut incident| async move {
            run::welcome(&core, &mut incident, &message.user).await;
            let reply = Reply {
                text: format!("Welcomed {}", message.user.display()),
                changes: 0,
            };
            (incident, Ok(reply))
        })
    }
}

impl Handler<OpenEditForm> for IncidentActor {
    type Result = AtomicResponse<Self, Result<Reply, EngineError>>;

    fn handle(&mut self, message: OpenEditForm, _ctx: &mut Self::Context) -> Self::Result {
        self.atomically(move |core, mut incident| async move {
            run::open_edit_form(
                &core,
                &mut incident,
                &message.user,
                message.trigger.as_deref(),
            )
            .await;
            let reply = Reply {
                text: "Opened the edit form".to_owned(),
                changes: 0,
            };
            (incident, Ok(reply))
        })
    }
}

impl Handler<ApplyEdits> for IncidentActor {
    type Result = AtomicResponse<Self, Result<Reply, EngineError>>;

    fn handle(&mut self, message: ApplyEdits, _ctx: &mut Self::Context) -> Self::Result {
        self.atomically(move |core, mut incident| async move {
            let result = run::apply_edits(
                &core,
                &mut incident,
                &message.values,
                &message.user,
                message.origin,
            )
            .await;
            (incident, result)
        })
    }
}

impl Handler<RecordConversationRename> for IncidentActor {
    type Result = AtomicResponse<Self, Result<Reply, EngineError>>;

    fn handle(
        &mut self,
        message: RecordConversationRename,
        _ctx: &mut Self::Context,
    ) -> Self::Result {
        self.atomically(move |core, mut incident| async move {
            let result = run::record_conversation_rename(
                &core,
                &mut incident,
                &message.name,
                message.origin,
            )
            .await;
            (incident, result)
        })
    }
}

impl Handler<FireTimer> for IncidentActor {
    type Result = AtomicResponse<Self, Result<Reply, EngineError>>;

    fn handle(&mut self, message: FireTimer, _ctx: &mut Self::Context) -> Self::Result {
        self.atomically(move |core, mut incident| async move {
            let result = run::fire_timer(&core, &mut incident, &message.reminder).await;
            (incident, result)
        })
    }
}

impl Handler<ApplyChat> for IncidentActor {
    type Result = AtomicResponse<Self, Result<Vec<Result<Reply, EngineError>>, EngineError>>;

    fn handle(&mut self, message: ApplyChat, _ctx: &mut Self::Context) -> Self::Result {
        self.atomically(move |core, mut incident| async move {
            let result = chat::apply_chat(&core, &mut incident, &message.lines).await;
            (incident, result)
        })
    }
}

impl Handler<Snapshot> for IncidentActor {
    type Result = actix::MessageResult<Snapshot>;

    fn handle(&mut self, _message: Snapshot, _ctx: &mut Self::Context) -> Self::Result {
        actix::MessageResult(self.incident.clone())
    }
}
