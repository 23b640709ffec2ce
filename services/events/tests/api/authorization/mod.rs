//! Who may call what on `EventService`, over real gRPC on both backends, one module per area:
//! a table of roles × methods for public, chapter and invite-only events, then the paths around
//! co-hosts, announcements, check-in codes, discovery and concurrent RSVPs.

mod concurrency;
mod discovery;
mod hosting;
mod internal;
mod matrix;

use chrono::{DateTime, Duration, Utc};
use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::events::v1::EventVisibility as Vis;
use rendezvous_testkit::{Backend, EventClient, TestMember, backend_tests, outbox_count};
use tonic::Code;

use crate::helpers::{
    World, add_cohost, cancel, check_in_code, check_in_code_of, check_in_member, create, event,
    get_event, invite, morning, paris_chapter, publish, published, retitle, rotate_check_in_code,
    try_get_event, try_rsvp,
};

fn now0() -> DateTime<Utc> {
    morning(2027, 5, 3)
}
