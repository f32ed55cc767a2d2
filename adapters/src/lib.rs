//! The platform-neutral chat model and the [`ChatAdapter`] trait.
//!
//! Everything outside this crate speaks only these types: a [`ChatEvent`]
//! comes in, [`Message`]s and [`Form`]s go out, and conversations, messages
//! and people are named by [`ConversationRef`], [`MessageRef`] and
//! [`UserRef`], each carrying its [`Platform`]. One module per platform owns
//! that platform's wire format; `memory` is the in-process platform used by
//! tests and the local demo.

mod adapter;
pub mod alerts;
mod event;
pub mod matrix;
pub mod memory;
mod message;
pub mod paging;
mod refs;
pub mod retry;
pub mod slack;
pub mod statuspage;
pub mod teams;

#[cfg(test)]
mod hostile;

pub use adapter::{AdapterError, AdapterResult, ChatAdapter, NewConversation};
pub use event::{ChatEvent, ChatEventKind};
pub use message::{
    Button, ButtonStyle, Field, Form, FormInput, FormInputKind, Inline, Message, RichText,
};
pub use refs::{ConversationRef, MessageRef, Platform, PlatformParseError, UserRef};
