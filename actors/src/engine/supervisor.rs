//! The supervisor: one per process. It owns the map of live incident
//! actors and is the only place that decides which incidents this process
//! runs (today: all of them; with several replicas, its share).
//!
//! Messages to an incident actor are enqueued inside the supervisor's
//! handler, in arrival order, and the reply is awaited outside it, so one
//! slow incident never holds up the others and per-incident order is kept.

use super::alert_intake::{self, Filed, Placed, Placement};
use super::answer::Answer;
use super::chat::Said;
use super::incident_actor::IncidentActor;
use super::messages::{
    ApplyChat, ApplyCommand, ApplyEdits, Declare, DeclareRequest, Execute, FileAlerts, FireTimer,
    HandleChatBatch, HandleChatEvent, Handled, OpenEditForm, PlaceAlerts, RecordConversationRename,
    Reply, RunCommand, RunTypedCommand, Source, Welcome,
};
use super::run::SharedCore;
use super::{EngineCore, EngineError};
use crate::incident::{
    parse_request, validate_declaration, Command, DomainEvent, Incident, IncidentId, Request,
};
use crate::metrics::EngineMetrics;
use crate::render;
use crate::store::{PendingTimer, RecordedEvent};
use actix::{
    Actor, ActorFutureExt, Addr, AsyncContext, AtomicResponse, Context, Handler, Message,
    ResponseActFuture, WrapFuture,
};
use firebreak_adapters::{
    ChatEvent, ChatEventKind, ConversationRef, Message as ChatMessage, UserRef,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Form id of the declare dialog; its answers come back under these keys.
pub const DECLARE_FORM: &str = "incident.declare";

/// A running incident actor. The generation tells a stopped actor's
/// notice apart from its successor's.
struct LiveActor {
    address: Addr<IncidentActor>,
    generation: u64,
}

pub struct Supervisor {
    core: SharedCore,
    live: HashMap<IncidentId, LiveActor>,
    next_generation: u64,
    routes: HashMap<ConversationRef, IncidentId>,
    restarts: HashMap<IncidentId, VecDeque<Instant>>,
    /// Incidents whose actor crashed too often: left stopped until the
    /// process restarts, so a poisoned incident cannot loop.
    given_up: HashMap<IncidentId, Instant>,
    rehydrated: bool,
    /// API commands waiting for their incident, which is sent them
    /// together, one run at a time.
    commands: HashMap<IncidentId, CommandQueue>,
}

type CommandReply = oneshot::Sender<Result<Reply, EngineError>>;

#[derive(Default)]
struct CommandQueue {
    waiting: Vec<(Execute, CommandReply)>,
    /// Whether a run was sent and has not been answered yet.
    busy: bool,
}

impl Supervisor {
    pub fn new(core: Arc<EngineCore>) -> Self {
        Self {
            core,
            live: HashMap::new(),
            next_generation: 0,
            routes: HashMap::new(),
            restarts: HashMap::new(),
            given_up: HashMap::new(),
            rehydrated: false,
            commands: HashMap::new(),
        }
    }

    /// Whether this process runs `incident`. One process owns everything
    /// today; replicas will each own a share, decided here.
    fn owns(&self, _incident: IncidentId) -> bool {
        true
    }

    fn spawn(&mut self, incident: Incident, ctx: &mut Context<Self>) -> Addr<IncidentActor> {
        let id = incident.id();
        if let Some(conversation) = incident.conversation() {
            self.routes.insert(conversation.clone(), id);
        }
        self.next_generation += 1;
        let generation = self.next_generation;
        let actor =
            IncidentActor::new(self.core.clone(), incident, ctx.address(), generation).start();
        self.live.insert(
            id,
            LiveActor {
                address: actor.clone(),
                generation,
            },
        );
        self.core
            .metrics
            .live_incidents
            .store(self.live.len() as u64, std::sync::atomic::Ordering::Relaxed);
        actor
    }

    fn live_actor(&self, id: IncidentId) -> Option<Addr<IncidentActor>> {
        self.live
            .get(&id)
            .map(|live| live.address.clone())
            .filter(|address| address.connected())
    }

    /// Sends `message` to the incident's actor, starting the actor from the
    /// store first if it is not running (an incident closed earlier, or one
    /// whose actor stopped). The message is enqueued before this returns
    /// when the actor is live.
    fn deliver<M, R>(&mut self, id: IncidentId, message: M) -> Answer<Self, Result<R, EngineError>>
    where
        M: actix::Message<Result = Result<R, EngineError>> + Send + 'static,
        R: Send + 'static,
        IncidentActor: Handler<M>,
    {
        if !self.owns(id) {
            return Answer::Ready(Err(EngineError::NotOwned(id)));
        }
        if self.given_up.contains_key(&id) {
            return Answer::Ready(Err(EngineError::Unavailable(id)));
        }
        if let Some(live) = self.live.get(&id) {
            if !live.address.connected() {
                // It crashed and its restart is under way (`ActorStopped`
                // does that, counting restarts); starting another one here
                // would dodge the restart limit.
                return Answer::Ready(Err(EngineError::Restarting(id)));
            }
            let request = live.address.send(message);
            return Answer::wait(async move { request.await? });
        }
        let store = self.core.store.clone();
        Answer::act(
            async move { store.load_incident(id).await }
                .into_actor(self)
                .then(move |loaded, supervisor, ctx| {
                    let request = match loaded {
                        Ok(Some(incident)) => {
                            // Another message may have started it meanwhile.
                            let actor = match supervisor.live_actor(id) {
                                Some(actor) => actor,
                                None => supervisor.spawn(incident, ctx),
                            };
                            Ok(actor.send(message))
                        }
                        Ok(None) => Err(EngineError::NotFound(id)),
                        Err(error) => Err(error.into()),
                    };
                    async move { request?.await? }.into_actor(supervisor)
                }),
        )
    }

    /// The incident a conversation belongs to: from memory, or from the
    /// store for incidents not running here (closed ones).
    fn find_incident(
        &self,
        conversation: &ConversationRef,
    ) -> ResponseActFuture<Self, Result<Option<IncidentId>, EngineError>> {
        if let Some(id) = self.routes.get(conversation) {
            return Box::pin(actix::fut::ready(Ok(Some(*id))));
        }
        let store = self.core.store.clone();
        let conversation = conversation.clone();
        Box::pin(
            async move { Ok(store.incident_by_conversation(&conversation).await?) }
                .into_actor(self),
        )
    }

    fn declare(
        &mut self,
        request: DeclareRequest,
        origin: Option<i64>,
    ) -> ResponseActFuture<Self, Result<Option<Incident>, EngineError>> {
        self.declare_with(request, Vec::new(), origin)
    }

    /// Declares, with `then` recorded at once after the declaration (the
    /// alerts that opened it).
    fn declare_with(
        &mut self,
        request: DeclareRequest,
        then: Vec<DomainEvent>,
        origin: Option<i64>,
    ) -> ResponseActFuture<Self, Result<Option<Incident>, EngineError>> {
        let core = self.core.clone();
        Box::pin(
            async move {
                let now = core.clock.now();
                validate_declaration(&request.title, request.report.as_ref(), now)?;
                let reporter = super::run::named(&core, &request.reporter).await;
                let lead = match &request.lead {
                    Some(lead) => Some(super::run::named(&core, lead).await),
                    None => None,
                };
                let event = DomainEvent::Declared {
                    title: request.title.trim().to_owned(),
                    severity: request.severity.unwrap_or(core.default_severity),
                    summary: request.summary,
                    impact: request.impact,
                    reporter: reporter.clone(),
                    lead,
                    platform: request.platform,
                    private: request.private,
                    report: request.report,
                    labels: request.labels,
                    announce: request.announce,
                };
                let then: Vec<RecordedEvent> = then
                    .into_iter()
                    .map(|event| RecordedEvent {
                        event,
                        actor: Some(reporter.clone()),
                        at: now,
                    })
                    .collect();
                let recorded = RecordedEvent {
                    event,
                    actor: Some(reporter),
                    at: now,
                };
                let timers = |incident: &Incident| super::run::schedule_of(&core, incident);
                Ok(core
                    .store
                    .create_incident_with(&recorded, &then, origin, timers)
                    .await?)
            }
            .into_actor(self)
            .map(|result: Result<Option<Incident>, EngineError>, supervisor, ctx| {
                if let Ok(Some(incident)) = &result {
                    tracing::info!(incident = %incident.id(), platform = %incident.platform(), "incident declared");
                    supervisor.spawn(incident.clone(), ctx);
                }
                result
            }),
        )
    }

    /// Declares from chat and says so where it was asked.
    fn declare_from_chat(
        &mut self,
        request: DeclareRequest,
        conversation: Option<ConversationRef>,
        origin: Option<i64>,
    ) -> ResponseActFuture<Self, Result<Handled, EngineError>> {
        let core = self.core.clone();
        let declared = self.declare(request, origin);
        Box::pin(declared.then(move |result, supervisor, _ctx| {
            async move {
                let answer = match &result {
                    Ok(Some(incident)) => {
                        format!("Declared {}: {}", incident.id(), incident.title())
                    }
                    Ok(None) => return Ok(Handled::Applied),
                    Err(EngineError::Rejected(rejection)) => rejection.to_string(),
                    Err(_) => {
                        "Could not declare the incident just now; it will be retried.".to_owned()
                    }
                };
                // The headline already tells the announcement conversation.
                if let Some(conversation) =
                    conversation.filter(|c| !core.platforms.is_announce(c) || result.is_err())
                {
                    say(&core, &conversation, &answer).await;
                }
                match result {
                    Ok(_) => Ok(Handled::Applied),
                    Err(EngineError::Rejected(_)) => Ok(Handled::Answered),
                    Err(error) => Err(error),
                }
            }
            .into_actor(supervisor)
        }))
    }

    fn route(
        &mut self,
        event: ChatEvent,
        origin: Option<i64>,
    ) -> Answer<Self, Result<Handled, EngineError>> {
        // The edit form names its incident, wherever it was submitted.
        if let ChatEventKind::FormSubmitted {
            form_id,
            values,
            user,
            ..
        } = &event.kind
        {
            if let Some(Ok(id)) = form_id
                .strip_prefix(render::EDIT_FORM_PREFIX)
                .map(str::parse::<IncidentId>)
            {
                let message = ApplyEdits {
                    values: values.clone(),
                    user: user.clone(),
                    origin,
                };
                return self.deliver(id, message).map(handled);
            }
        }
        let Some(conversation) = event.kind.conversation().cloned() else {
            return match event.kind {
                ChatEventKind::FormSubmitted {
                    form_id,
                    values,
                    user,
                    ..
                } if form_id == DECLARE_FORM => {
                    Answer::Act(self.declare_from_form(values, user, None, origin))
                }
                _ => Answer::Ready(Ok(Handled::Ignored)),
            };
        };
        // A button on the headline names its incident; it lives in the
        // announcement conversation, not the incident's own.
        if let ChatEventKind::ButtonPressed {
            action_id,
            value,
            user,
            trigger,
            ..
        } = &event.kind
        {
            if let Some((id, command)) = super::duties::reminder_button(action_id, value) {
                let message = ApplyCommand {
                    command,
                    user: user.clone(),
                    source: Source::IncidentConversation,
                    origin,
                };
                return self.deliver(id, message).map(handled);
            }
            let id = value.parse::<IncidentId>();
            let command = match action_id.as_str() {
                render::actions::CLAIM_LEAD => Some(Command::Lead(None)),
                render::actions::CLOSE => Some(Command::Close),
                _ => None,
            };
            return match (id, command) {
                (Ok(id), Some(command)) => {
                    let message = ApplyCommand {
                        command,
                        user: user.clone(),
                        source: Source::IncidentConversation,
                        origin,
                    };
                    self.deliver(id, message).map(handled)
                }
                (Ok(id), None) if action_id == render::actions::EDIT => {
                    let message = OpenEditForm {
                        user: user.clone(),
                        trigger: trigger.clone(),
                    };
                    self.deliver(id, message).map(handled)
                }
                _ => Answer::Ready(Ok(Handled::Ignored)),
            };
        }
        if let Some(id) = self.routes.get(&conversation).copied() {
            return self.route_to_incident(id, event, conversation, origin);
        }
        Answer::act(
            self.find_incident(&conversation)
                .then(move |found, supervisor, _ctx| match found {
                    Ok(Some(id)) => supervisor
                        .route_to_incident(id, event, conversation, origin)
                        .into_act(),
                    Ok(None) => supervisor.route_outside_incidents(event, conversation, origin),
                    Err(error) => Box::pin(actix::fut::ready(Err(error))),
                }),
        )
    }

    fn route_to_incident(
        &mut self,
        id: IncidentId,
        event: ChatEvent,
        conversation: ConversationRef,
        origin: Option<i64>,
    ) -> Answer<Self, Result<Handled, EngineError>> {
        let source = Source::Chat(conversation);
        let kind = match Said::from_event(event.kind, source.clone(), origin) {
            Ok(line) => {
                return self
                    .deliver(id, ApplyChat { lines: vec![line] })
                    .map(|result| {
                        result.and_then(|replies| {
                            replies
                                .into_iter()
                                .next()
                                .map_or(Ok(Handled::Ignored), handled)
                        })
                    })
            }
            Err(kind) => *kind,
        };
        let delivered = match kind {
            ChatEventKind::ReactionAdded {
                user,
                message,
                reaction,
                text,
            } if self.core.pin_reactions.contains(&reaction) => {
                self.deliver(id, pin(message, text, user, source, origin))
            }
            ChatEventKind::MessagePinned {
                user,
                message,
                text,
            } => self.deliver(id, pin(message, text, user, source, origin)),
            ChatEventKind::UserJoined { user, .. } => self.deliver(id, Welcome { user }),
            ChatEventKind::ConversationRenamed { name, .. } => {
                self.deliver(id, RecordConversationRename { name, origin })
            }
            _ => return Answer::Ready(Ok(Handled::Ignored)),
        };
        delivered.map(handled)
    }

    /// Chat outside any incident conversation: declaring, help, forms.
    fn route_outside_incidents(
        &mut self,
        event: ChatEvent,
        conversation: ConversationRef,
        origin: Option<i64>,
    ) -> ResponseActFuture<Self, Result<Handled, EngineError>> {
        match event.kind {
            ChatEventKind::Command { text, user, .. } => {
                match parse_request(&text, conversation.platform, &self.core.policy) {
                    Ok(Request::Declare { title }) => {
                        let request = DeclareRequest {
                            title,
                            severity: None,
                            summary: None,
                            impact: None,
                            reporter: user,
                            lead: None,
                            platform: conversation.platform,
                            private: false,
                            report: None,
                            labels: Default::default(),
                            announce: None,
                        };
                        self.declare_from_chat(request, Some(conversation), origin)
                    }
                    other => {
                        let answer = match other {
                            Ok(Request::Help) => crate::incident::help_text(&self.core.policy),
                            Err(error) => error.to_string(),
                            Ok(_) => "This conversation is not an incident. Say `declare <title>` to declare one."
                                .to_owned(),
                        };
                        let core = self.core.clone();
                        Box::pin(
                            async move {
                                say(&core, &conversation, &answer).await;
                                Ok(Handled::Answered)
                            }
                            .into_actor(self),
                        )
                    }
                }
            }
            ChatEventKind::FormSubmitted {
                form_id,
                values,
                user,
                ..
            } if form_id == DECLARE_FORM => {
                self.declare_from_form(values, user, Some(conversation), origin)
            }
            _ => Box::pin(actix::fut::ready(Ok(Handled::Ignored))),
        }
    }

    fn declare_from_form(
        &mut self,
        values: std::collections::BTreeMap<String, String>,
        user: UserRef,
        conversation: Option<ConversationRef>,
        origin: Option<i64>,
    ) -> ResponseActFuture<Self, Result<Handled, EngineError>> {
        let field = |key: &str| {
            values
                .get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let request = DeclareRequest {
            title: field("title").unwrap_or_default(),
            severity: field("severity").and_then(|text| self.core.policy.severity_by_name(&text)),
            summary: field("summary"),
            impact: field("impact"),
            lead: field("lead").map(|id| UserRef::new(user.platform, id)),
            platform: user.platform,
            reporter: user,
            private: field("private").is_some_and(|v| v == "true"),
            report: None,
            labels: Default::default(),
            announce: None,
        };
        self.declare_from_chat(request, conversation, origin)
    }

    /// Sends the incident every API command waiting for it, as one run of
    /// lines: a burst of commands is one change and one round of chat
    /// effects instead of one each.
    fn send_commands(&mut self, id: IncidentId, ctx: &mut Context<Self>) {
        let Some(queue) = self.commands.get_mut(&id) else {
            return;
        };
        if queue.waiting.is_empty() {
            self.commands.remove(&id);
            return;
        }
        queue.busy = true;
        let (lines, replies): (Vec<Said>, Vec<CommandReply>) = queue
            .waiting
            .drain(..)
            .map(|(execute, reply)| (Said::Command(execute), reply))
            .unzip();
        let answer_each = move |result: Result<Vec<Result<Reply, EngineError>>, EngineError>| {
            let count = replies.len();
            let outcomes = match result {
                Ok(outcomes) => outcomes,
                Err(error) => error.shared(count).into_iter().map(Err).collect(),
            };
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        };
        match self.deliver(id, ApplyChat { lines }) {
            Answer::Ready(result) => {
                answer_each(result);
                self.commands_done(id, ctx);
            }
            Answer::Wait(applied) => {
                let supervisor = ctx.address();
                actix::spawn(async move {
                    answer_each(applied.await);
                    supervisor.do_send(CommandsDone(id));
                });
            }
            Answer::Act(applied) => {
                ctx.spawn(applied.map(move |result, supervisor, ctx| {
                    answer_each(result);
                    supervisor.commands_done(id, ctx);
                }));
            }
        }
    }

    fn commands_done(&mut self, id: IncidentId, ctx: &mut Context<Self>) {
        if let Some(queue) = self.commands.get_mut(&id) {
            queue.busy = false;
        }
        self.send_commands(id, ctx);
    }

    fn restart(&mut self, id: IncidentId, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let history = self.restarts.entry(id).or_default();
        while history
            .front()
            .is_some_and(|at| now.duration_since(*at) > EngineCore::RESTART_WINDOW)
        {
            history.pop_front();
        }
        if history.len() >= self.core.max_restarts {
            tracing::error!(incident = %id, "incident actor keeps failing; leaving it stopped");
            self.given_up.insert(id, now);
            return;
        }
        history.push_back(now);
        EngineMetrics::add(&self.core.metrics.actor_restarts, 1);
        let store = self.core.store.clone();
        ctx.spawn(async move { store.load_incident(id).await }.into_actor(self).map(
            move |loaded, supervisor, ctx| match loaded {
                Ok(Some(incident)) if !incident.is_final() && !supervisor.live.contains_key(&id) => {
                    tracing::warn!(incident = %id, "restarting incident actor from the store");
                    supervisor.spawn(incident, ctx);
                }
                Ok(_) => {}
                Err(error) => tracing::error!(incident = %id, %error, "could not reload incident to restart it"),
            },
        ));
    }
}

fn handled(result: Result<Reply, EngineError>) -> Result<Handled, EngineError> {
    match result {
        Ok(reply) if reply.changes > 0 => Ok(Handled::Applied),
        Ok(_) => Ok(Handled::Answered),
        // Already answered in chat: the row is done.
        Err(EngineError::Rejected(_) | EngineError::Unparsable(_)) => Ok(Handled::Answered),
        Err(error) => Err(error),
    }
}

/// Puts a message on the timeline, whether it was pinned or got the pin
/// reaction.
fn pin(
    message: firebreak_adapters::MessageRef,
    text: Option<String>,
    user: UserRef,
    source: Source,
    origin: Option<i64>,
) -> ApplyCommand {
    ApplyCommand {
        command: Command::Pin {
            message,
            text: text.unwrap_or_default(),
            author: None,
        },
        user,
        source,
        origin,
    }
}

async fn say(core: &EngineCore, conversation: &ConversationRef, text: &str) {
    let Some(adapter) = core.platforms.adapter(conversation.platform) else {
        return;
    };
    if let Err(error) = adapter
        .post_message(conversation, &ChatMessage::text(text))
        .await
    {
        tracing::warn!(platform = %conversation.platform, %error, "could not answer in chat");
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;
}

/// Start every open incident's actor from the store. Sent once at
/// start-up; answers how many incidents were brought back.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<usize, EngineError>")]
pub struct Rehydrate;

impl Handler<Rehydrate> for Supervisor {
    type Result = AtomicResponse<Self, Result<usize, EngineError>>;

    fn handle(&mut self, _message: Rehydrate, _ctx: &mut Self::Context) -> Self::Result {
        let core = self.core.clone();
        let load = async move {
            let store = &core.store;
            let incidents = store.load_open_incidents().await?;
            let mut stored: BTreeMap<IncidentId, Vec<PendingTimer>> = BTreeMap::new();
            for (id, timer) in store.pending_timers().await? {
                stored.entry(id).or_default().push(timer);
            }
            // Open incidents' timers on disk were written with their last
            // change; only those a policy change made stale are rewritten,
            // not every incident at every start.
            for incident in &incidents {
                let due = super::run::schedule_of(&core, incident);
                let on_disk = stored.remove(&incident.id()).unwrap_or_default();
                if !same_timers(&due, &on_disk) {
                    store.replace_timers(incident.id(), &due).await?;
                }
            }
            // Closed incidents have no actor, but may still have timers
            // (the follow-up digest): the wheel gets them from the store.
            for (incident, pending) in stored {
                core.timers.do_send(super::Reschedule {
                    incident,
                    timers: pending,
                });
            }
            Ok::<_, EngineError>(incidents)
        };
        AtomicResponse::new(Box::pin(load.into_actor(self).map(
            |loaded, supervisor, ctx| {
                let incidents = loaded?;
                let count = incidents.len();
                for incident in incidents {
                    if supervisor.owns(incident.id())
                        && !supervisor.live.contains_key(&incident.id())
                    {
                        supervisor.spawn(incident, ctx);
                    }
                }
                supervisor.rehydrated = true;
                tracing::info!(count, "rehydrated open incidents");
                Ok(count)
            },
        )))
    }
}

/// Whether two schedules hold the same reminders at the same times, to
/// the microsecond (what PostgreSQL keeps of a timestamp).
fn same_timers(a: &[PendingTimer], b: &[PendingTimer]) -> bool {
    let key = |timers: &[PendingTimer]| {
        let mut keys: Vec<(String, i64)> = timers
            .iter()
            .map(|timer| (timer.reminder.clone(), timer.due_at.timestamp_micros()))
            .collect();
        keys.sort();
        keys
    };
    key(a) == key(b)
}

/// Whether start-up has finished (rehydration done).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "bool")]
pub struct IsReady;

impl Handler<IsReady> for Supervisor {
    type Result = bool;
    fn handle(&mut self, _message: IsReady, _ctx: &mut Self::Context) -> bool {
        self.rehydrated
    }
}

impl Handler<Declare> for Supervisor {
    type Result = ResponseActFuture<Self, Result<Option<Incident>, EngineError>>;

    fn handle(&mut self, message: Declare, _ctx: &mut Self::Context) -> Self::Result {
        self.declare(message.request, message.origin)
    }
}

impl Handler<HandleChatEvent> for Supervisor {
    type Result = Answer<Self, Result<Handled, EngineError>>;

    fn handle(&mut self, message: HandleChatEvent, _ctx: &mut Self::Context) -> Self::Result {
        self.route(message.event, message.origin)
    }
}

impl Handler<HandleChatBatch> for Supervisor {
    type Result = Answer<Self, Vec<Result<Handled, EngineError>>>;

    fn handle(&mut self, message: HandleChatBatch, ctx: &mut Self::Context) -> Self::Result {
        let HandleChatBatch {
            conversation,
            events,
        } = message;
        let source = Source::Chat(conversation.clone());
        let lines: Option<Vec<Said>> = events
            .iter()
            .map(|(event, origin)| {
                Said::from_event(event.kind.clone(), source.clone(), Some(*origin)).ok()
            })
            .collect();
        let Some(lines) = lines else {
            return self.route_each(events, ctx);
        };
        let count = lines.len();
        let apply = move |supervisor: &mut Self, id: IncidentId, lines: Vec<Said>| {
            supervisor
                .deliver(id, ApplyChat { lines })
                .map(move |result| match result {
                    Ok(replies) => replies.into_iter().map(handled).collect(),
                    // One failed write fails every line.
                    Err(error) => error.shared(count).into_iter().map(Err).collect(),
                })
        };
        if let Some(id) = self.routes.get(&conversation).copied() {
            return apply(self, id, lines);
        }
        // One lookup for the whole run: a busy channel that is no
        // incident's would otherwise cost a query per message.
        Answer::act(self.find_incident(&conversation).then(
            move |found, supervisor, ctx| match found {
                Ok(Some(id)) => apply(supervisor, id, lines).into_act(),
                // Outside incidents a plain message means nothing; anything
                // else is routed as it would have been alone.
                Ok(None) if lines.iter().all(|line| matches!(line, Said::Message(_))) => Box::pin(
                    actix::fut::ready((0..count).map(|_| Ok(Handled::Ignored)).collect()),
                ),
                _ => supervisor.route_each(events, ctx).into_act(),
            },
        ))
    }
}

impl Supervisor {
    /// Routes chat events one after the other, each as it would have been
    /// alone.
    fn route_each(
        &mut self,
        events: Vec<(ChatEvent, i64)>,
        ctx: &mut Context<Self>,
    ) -> Answer<Self, Vec<Result<Handled, EngineError>>> {
        let supervisor = ctx.address();
        Answer::wait(async move {
            let mut outcomes = Vec::with_capacity(events.len());
            for (event, origin) in events {
                let routed = supervisor
                    .send(HandleChatEvent {
                        event,
                        origin: Some(origin),
                    })
                    .await;
                outcomes.push(routed.unwrap_or_else(|mailbox| Err(mailbox.into())));
            }
            outcomes
        })
    }
}

impl Handler<RunCommand> for Supervisor {
    type Result = Answer<Self, Result<Reply, EngineError>>;

    fn handle(&mut self, message: RunCommand, ctx: &mut Self::Context) -> Self::Result {
        let (reply, answer) = oneshot::channel();
        let id = message.incident;
        let queue = self.commands.entry(id).or_default();
        queue.waiting.push((
            Execute {
                text: message.text,
                user: message.user,
                source: Source::Api,
                origin: None,
            },
            reply,
        ));
        if !queue.busy {
            self.send_commands(id, ctx);
        }
        Answer::wait(async move {
            answer
                .await
                .unwrap_or(Err(EngineError::Mailbox(actix::MailboxError::Closed)))
        })
    }
}

/// An incident finished the API commands it was sent; send it the next.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
struct CommandsDone(IncidentId);

impl Handler<CommandsDone> for Supervisor {
    type Result = ();

    fn handle(&mut self, message: CommandsDone, ctx: &mut Self::Context) {
        self.commands_done(message.0, ctx);
    }
}

impl Handler<RunTypedCommand> for Supervisor {
    type Result = Answer<Self, Result<Reply, EngineError>>;

    fn handle(&mut self, message: RunTypedCommand, _ctx: &mut Self::Context) -> Self::Result {
        self.deliver(
            message.incident,
            ApplyCommand {
                command: message.command,
                user: message.user,
                source: Source::Api,
                origin: None,
            },
        )
    }
}

/// An incident actor stopped: because its incident is final, or because
/// it failed. In the second case it is started again from the store.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub(super) struct ActorStopped {
    pub incident: IncidentId,
    pub generation: u64,
    pub is_final: bool,
}

impl Handler<ActorStopped> for Supervisor {
    type Result = ();

    fn handle(&mut self, message: ActorStopped, ctx: &mut Self::Context) {
        // A newer actor may already run for this incident; only forget
        // the one that stopped.
        if self
            .live
            .get(&message.incident)
            .is_some_and(|live| live.generation == message.generation)
        {
            self.live.remove(&message.incident);
        }
        self.core
            .metrics
            .live_incidents
            .store(self.live.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if !message.is_final
            && self.owns(message.incident)
            && !self.live.contains_key(&message.incident)
        {
            self.restart(message.incident, ctx);
        }
    }
}

#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub(super) struct BindConversation {
    pub incident: IncidentId,
    pub conversation: ConversationRef,
}

impl Handler<BindConversation> for Supervisor {
    type Result = ();

    fn handle(&mut self, message: BindConversation, _ctx: &mut Self::Context) {
        self.routes.insert(message.conversation, message.incident);
    }
}

/// A timer fell due; its incident decides whether it still means anything.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct TimerFired {
    pub incident: IncidentId,
    pub reminder: String,
}

impl Handler<TimerFired> for Supervisor {
    type Result = Answer<Self, ()>;

    fn handle(&mut self, message: TimerFired, _ctx: &mut Self::Context) -> Self::Result {
        let incident = message.incident;
        self.deliver(
            incident,
            FireTimer {
                reminder: message.reminder,
            },
        )
        .map(move |result| {
            if let Err(error) = result {
                tracing::warn!(%incident, %error, "a due timer could not be handled");
            }
        })
    }
}

impl Handler<PlaceAlerts> for Supervisor {
    type Result = Answer<Self, Result<Placed, EngineError>>;

    fn handle(&mut self, message: PlaceAlerts, _ctx: &mut Self::Context) -> Self::Result {
        let PlaceAlerts { batch, origin } = message;
        let core = self.core.clone();
        let alerts = batch.alerts.len();
        Answer::act(
            async move { (alert_intake::place(&core, &batch).await, batch) }
                .into_actor(self)
                .then(move |(placement, batch), supervisor, _ctx| -> ResponseActFuture<Self, Result<Placed, EngineError>> {
                    match placement {
                        Err(error) => Box::pin(actix::fut::ready(Err(error))),
                        Ok(Placement::Join(id, delivery)) => {
                            Box::pin(actix::fut::ready(Ok(Placed::join(id, delivery, origin))))
                        }
                        Ok(Placement::Open { request, then }) => Box::pin(
                            supervisor
                                .declare_with(*request, then, Some(origin))
                                .map(move |result, _, _| {
                                    let result = result.map(|_| Handled::Applied);
                                    Ok(Placed::done(Filed::Opened, alerts, result))
                                }),
                        ),
                        Ok(Placement::Record { group_key }) => {
                            let core = supervisor.core.clone();
                            Box::pin(
                                async move {
                                    let result = alert_intake::record(&core, &batch, &group_key).await;
                                    Ok(Placed::done(Filed::Recorded, alerts, result))
                                }
                                .into_actor(supervisor),
                            )
                        }
                    }
                }),
        )
    }
}

impl Handler<FileAlerts> for Supervisor {
    type Result = Answer<Self, Result<Vec<Result<Reply, EngineError>>, EngineError>>;

    fn handle(&mut self, message: FileAlerts, _ctx: &mut Self::Context) -> Self::Result {
        let lines = message.deliveries.into_iter().map(Said::Typed).collect();
        self.deliver(message.incident, ApplyChat { lines })
    }
}
