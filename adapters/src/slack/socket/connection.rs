//! One Socket Mode WebSocket: reads Slack's frames, hands each envelope to
//! the [`SocketHandler`], and sends the envelope's ack once the handler
//! has answered.
//!
//! Handler calls run concurrently (they are kept in `in_flight` and polled
//! alongside the socket), so one slow inbox write does not hold back the
//! acks of the envelopes behind it: Slack wants each ack within 3 s.
//! They live in the [`Connection`], not in the future that reads, so a
//! caller may stop reading (to switch to a new connection) without
//! cancelling a handler half-way; [`Connection::finish`] lets them
//! complete and sends their acks before closing.

use super::wire::{self, DisconnectReason, Envelope, EnvelopeId, Frame};
use super::{SocketError, SocketHandler};
use crate::slack::inbound::RequestKind;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why [`Connection::serve`] returned.
#[derive(Debug)]
pub(super) enum Ended {
    /// Slack sent `disconnect`. The socket still works until Slack drops
    /// it, so it can keep serving while a replacement opens.
    Disconnect(DisconnectReason),
    /// The socket closed (a Close frame, or the stream ended).
    Closed,
    /// Reading or writing failed, or the socket went silent.
    Failed(SocketError),
}

pub(super) struct Connection {
    /// Counts connections since start, so log lines about one can be told
    /// from those about its replacement.
    number: u64,
    socket: Socket,
    in_flight: FuturesUnordered<BoxFuture<'static, Handled>>,
    /// After this long without a frame we ping; after twice this long the
    /// connection is taken for dead. A NAT or proxy can drop a connection
    /// without either end hearing of it, and reads would then wait forever.
    keepalive: Duration,
    /// False once the socket closed or failed: nothing more can be read,
    /// and acks still owed are lost (Slack redelivers those envelopes).
    usable: bool,
    /// Whether Slack said `hello`. A connection that ends without one
    /// counts as a failed attempt, so a server that accepts and at once
    /// drops us is retried with backoff rather than in a tight loop.
    greeted: bool,
}

/// One handler call's outcome, waiting to be acknowledged.
struct Handled {
    envelope_id: EnvelopeId,
    kind: RequestKind,
    accepts_response_payload: bool,
    outcome: Result<Option<Value>, String>,
}

impl Connection {
    pub(super) fn new(number: u64, socket: Socket, keepalive: Duration) -> Self {
        Connection {
            number,
            socket,
            in_flight: FuturesUnordered::new(),
            keepalive,
            usable: true,
            greeted: false,
        }
    }

    pub(super) fn number(&self) -> u64 {
        self.number
    }

    pub(super) fn is_usable(&self) -> bool {
        self.usable
    }

    pub(super) fn greeted(&self) -> bool {
        self.greeted
    }

    /// Reads frames and acknowledges handled envelopes until Slack says
    /// `disconnect`, the socket ends, or it fails. May be called again
    /// after [`Ended::Disconnect`]; the other endings leave the
    /// connection unusable.
    pub(super) async fn serve(&mut self, handler: &Arc<dyn SocketHandler>) -> Ended {
        let mut pinged = false;
        loop {
            if !self.usable {
                return Ended::Closed;
            }
            tokio::select! {
                Some(handled) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    if let Err(error) = self.acknowledge(handled).await {
                        return self.failed(error);
                    }
                }
                read = tokio::time::timeout(self.keepalive, self.socket.next()) => match read {
                    Err(_silence) if pinged => {
                        return self.failed(SocketError::Silent(self.keepalive.saturating_mul(2)));
                    }
                    Err(_silence) => {
                        tracing::debug!(connection = self.number, "no frame for a while; pinging Slack");
                        pinged = true;
                        if let Err(error) = self.socket.send(Message::Ping(Bytes::new())).await {
                            return self.failed(SocketError::Transport(error.to_string()));
                        }
                    }
                    Ok(None) => {
                        self.usable = false;
                        return Ended::Closed;
                    }
                    Ok(Some(Err(error))) => {
                        return self.failed(SocketError::Transport(error.to_string()));
                    }
                    Ok(Some(Ok(message))) => {
                        pinged = false;
                        if let Some(ended) = self.receive(message, handler).await {
                            return ended;
                        }
                    }
                }
            }
        }
    }

    /// Waits for every handler call under way and sends its ack, while
    /// the socket lasts. Reads nothing more.
    pub(super) async fn drain(&mut self) {
        while let Some(handled) = self.in_flight.next().await {
            if let Err(error) = self.acknowledge(handled).await {
                tracing::warn!(connection = self.number, %error, "could not acknowledge while finishing the connection");
                self.usable = false;
            }
        }
    }

    /// [`drain`](Self::drain)s, then closes the socket.
    pub(super) async fn finish(mut self) {
        self.drain().await;
        if self.usable {
            // Slack drops the connection on its side anyway; a failed
            // close only means it already has.
            if let Err(error) = self.socket.close(None).await {
                tracing::debug!(connection = self.number, %error, "closing the old connection failed");
            }
        }
        tracing::debug!(connection = self.number, "connection finished");
    }

    fn failed(&mut self, error: SocketError) -> Ended {
        self.usable = false;
        Ended::Failed(error)
    }

    /// Handles one WebSocket message; `Some` when the connection should
    /// stop being served.
    async fn receive(
        &mut self,
        message: Message,
        handler: &Arc<dyn SocketHandler>,
    ) -> Option<Ended> {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(frame) => {
                tracing::info!(
                    connection = self.number,
                    code = frame.as_ref().map(|frame| u16::from(frame.code)),
                    reason = frame.as_ref().map(|frame| frame.reason.as_str()),
                    "Slack closed the connection"
                );
                self.usable = false;
                return Some(Ended::Closed);
            }
            // tungstenite answers pings itself; a pong only proves life.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return None,
            Message::Binary(bytes) => {
                tracing::warn!(
                    connection = self.number,
                    bytes = bytes.len(),
                    "ignoring a binary frame; Socket Mode sends text"
                );
                return None;
            }
        };
        match wire::parse_frame(text.as_str()) {
            Ok(Frame::Hello(hello)) => {
                self.greeted = true;
                tracing::info!(
                    connection = self.number,
                    num_connections = hello.num_connections,
                    approximate_connection_time_s = hello.approximate_connection_time,
                    host = hello.host.as_deref(),
                    "Slack Socket Mode connection ready"
                );
                None
            }
            Ok(Frame::Disconnect(reason)) => Some(Ended::Disconnect(reason)),
            Ok(Frame::Envelope(envelope)) => {
                self.dispatch(envelope, handler);
                None
            }
            Ok(Frame::Unknown {
                kind,
                envelope_id: Some(envelope_id),
            }) => {
                tracing::info!(connection = self.number, %envelope_id, frame_type = %kind, "acknowledging and skipping an unknown Socket Mode envelope");
                let ack = wire::ack(&envelope_id, None);
                match self.socket.send(Message::text(ack)).await {
                    Ok(()) => None,
                    Err(error) => Some(self.failed(SocketError::Transport(error.to_string()))),
                }
            }
            Ok(Frame::Unknown {
                kind,
                envelope_id: None,
            }) => {
                tracing::info!(connection = self.number, frame_type = %kind, "skipping an unknown Socket Mode frame");
                None
            }
            // Not acknowledged: like the HTTP route's 400, it tells Slack
            // the request was not handled (a slash command shows the user
            // an error instead of silence).
            Err(error) => {
                tracing::warn!(connection = self.number, %error, "skipping a Socket Mode frame we cannot read");
                None
            }
        }
    }

    /// Starts the handler call for `envelope`; its ack goes out when it
    /// returns (see [`serve`](Self::serve)).
    fn dispatch(&mut self, envelope: Envelope, handler: &Arc<dyn SocketHandler>) {
        let body = match envelope.http_body() {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(connection = self.number, %error, "skipping an envelope we cannot convert");
                return;
            }
        };
        tracing::debug!(
            connection = self.number,
            envelope_id = %envelope.id,
            kind = ?envelope.kind,
            retry_attempt = envelope.retry_attempt,
            retry_reason = %envelope.retry_reason,
            "envelope received"
        );
        let handler = Arc::clone(handler);
        let Envelope {
            id,
            kind,
            accepts_response_payload,
            ..
        } = envelope;
        self.in_flight.push(Box::pin(async move {
            let outcome = handler.handle(kind, body).await;
            Handled {
                envelope_id: id,
                kind,
                accepts_response_payload,
                outcome,
            }
        }));
    }

    /// Sends the ack for a handled envelope, unless the handler failed:
    /// then Slack gets none and redelivers it (up to three times), which is
    /// what "not stored" must lead to.
    async fn acknowledge(&mut self, handled: Handled) -> Result<(), SocketError> {
        let Handled {
            envelope_id,
            kind,
            accepts_response_payload,
            outcome,
        } = handled;
        let response = match outcome {
            Ok(response) => response,
            Err(reason) => {
                tracing::warn!(connection = self.number, %envelope_id, ?kind, %reason, "handler failed; not acknowledging so Slack redelivers");
                return Ok(());
            }
        };
        let response = match response {
            Some(_) if !accepts_response_payload => {
                tracing::warn!(connection = self.number, %envelope_id, ?kind, "dropping a response: this envelope accepts none");
                None
            }
            response => response,
        };
        if !self.usable {
            tracing::info!(connection = self.number, %envelope_id, ?kind, "handled after the connection ended; Slack will redeliver it");
            return Ok(());
        }
        self.socket
            .send(Message::text(wire::ack(&envelope_id, response)))
            .await
            .map_err(|error| SocketError::Transport(error.to_string()))?;
        tracing::debug!(connection = self.number, %envelope_id, "envelope acknowledged");
        Ok(())
    }
}
