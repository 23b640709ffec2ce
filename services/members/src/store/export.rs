//! The export of everything held about a member (GDPR access), as one JSON document.

use chrono::{DateTime, Utc};
use rendezvous_common::with_db;
use uuid::Uuid;

use super::coffee_people::{CoffeePeople as _, Slot};
use super::connections::{RequestRow, RequestTuple};
use super::db::Store;
use super::members::MemberOps as _;
use super::remeet::NudgeRow;
use crate::domain::coffee::ProposalState;
use crate::notices::RemeetSuggestion;

/// A coffee proposal as the exporting member `$1` sees it: the other member, the state as
/// stored, their own answer (never the other's: a decline is never shown to the other), and
/// the booking, if any, with whether they made it.
const MY_COFFEE_PROPOSALS: &str = "SELECT id, \
     CASE WHEN member_a = $1 THEN member_b ELSE member_a END, proposed_at, respond_by, state, \
     CASE WHEN member_a = $1 THEN answer_a ELSE answer_b END, \
     event_id, meeting_starts_at, meeting_ends_at, booked_by \
     FROM coffee_proposals WHERE member_a = $1 OR member_b = $1 ORDER BY proposed_at, id";

type MyProposalTuple = (
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

fn slot_json((starts_at, ends_at): &Slot) -> serde_json::Value {
    serde_json::json!({"starts_at": starts_at, "ends_at": ends_at})
}

/// One exported proposal, its state as the member sees it at `now` (an open one past its
/// deadline has lapsed, whether or not a round has recorded it yet).
fn proposal_json(
    me: &str,
    p: MyProposalTuple,
    slots: &[Slot],
    now: DateTime<Utc>,
) -> serde_json::Value {
    let (id, other, proposed_at, respond_by, state, my_answer, event, starts, ends, booker) = p;
    let booking = match (event, starts.zip(ends)) {
        (Some(event_id), Some(meeting)) => serde_json::json!({
            "event_id": event_id,
            "meeting": slot_json(&meeting),
            "booked_by_me": booker.as_deref() == Some(me),
        }),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "id": id,
        "member_id": other,
        "proposed_at": proposed_at,
        "respond_by": respond_by,
        "state": ProposalState::seen(&state, respond_by, now).as_str(),
        "my_answer": my_answer,
        "slots": slots.iter().map(slot_json).collect::<Vec<_>>(),
        "booking": booking,
    })
}

/// One exported nudge: whom about, when they last met, and what it suggested.
fn nudge_json((n, dismissed_at): &(NudgeRow, Option<DateTime<Utc>>)) -> serde_json::Value {
    let (event, coffee) = match &n.suggestion {
        RemeetSuggestion::Event(e) => (
            serde_json::json!({
                "event_id": e.event_id,
                "title": e.title,
                "starts_at": e.start_time.as_ref().and_then(|t| rendezvous_common::time::from_timestamp("start_time", t).ok()),
                "venue_name": e.venue_name,
                "city": e.city,
            }),
            serde_json::Value::Null,
        ),
        RemeetSuggestion::Coffee(p) => (serde_json::Value::Null, serde_json::json!(p.to_string())),
    };
    serde_json::json!({
        "id": n.id,
        "member_id": n.other_id,
        "last_met_at": n.last_met,
        "created_at": n.created_at,
        "event": event,
        "coffee_proposal_id": coffee,
        "dismissed_at": dismissed_at,
    })
}

impl Store {
    /// Everything held about a member, as a JSON document, as of the wall clock.
    pub async fn export(&self, member: Uuid) -> Result<Option<serde_json::Value>, sqlx::Error> {
        self.export_at(member, Utc::now()).await
    }

    /// Everything held about a member, as a JSON document, as of `now`.
    pub async fn export_at(
        &self,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<serde_json::Value>, sqlx::Error> {
        let coffee = self.coffee_settings(member).await?;
        let remeet = self.remeet_settings(member).await?;
        let nudges = self.remeet_nudges_ever(member).await?;
        let member = &*member.to_string();
        use serde_json::json;
        with_db!(&self.db, |pool| {
            let mut conn = pool.acquire().await?;
            let Some(m) = conn.load_member(member).await? else {
                return Ok(None);
            };
            let sessions: Vec<(
                String,
                DateTime<Utc>,
                DateTime<Utc>,
                Option<DateTime<Utc>>,
                Option<String>,
            )> = sqlx::query_as(
                "SELECT id, created_at, expires_at, revoked_at, revoke_reason FROM sessions \
                     WHERE member_id = $1 ORDER BY created_at",
            )
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
            let connections: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT CASE WHEN member_a = $1 THEN member_b ELSE member_a END, created_at \
                 FROM connections WHERE member_a = $1 OR member_b = $1 ORDER BY created_at",
            )
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
            let requests: Vec<RequestTuple> = sqlx::query_as(
                "SELECT r.id, r.requester_id, r.addressee_id, r.note, r.state, r.created_at, r.updated_at, m.display_name \
                 FROM connection_requests r JOIN members m \
                   ON m.id = CASE WHEN r.requester_id = $1 THEN r.addressee_id ELSE r.requester_id END \
                 WHERE r.requester_id = $1 OR r.addressee_id = $1 ORDER BY r.id",
            )
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
            let blocks: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT blocked_id, created_at FROM blocks WHERE blocker_id = $1 ORDER BY created_at",
            )
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
            let meetings: Vec<(String, String, bool, bool, bool, bool)> = sqlx::query_as(
                "SELECT event_id, other_id, confirmed, dismissed, met, hoped FROM meeting_pairs \
                 WHERE member_id = $1 ORDER BY event_time, event_id, other_id",
            )
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
            let met: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT CASE WHEN member_a = $1 THEN member_b ELSE member_a END, event_id, met_at \
                 FROM met_edges WHERE member_a = $1 OR member_b = $1 ORDER BY met_at",
            )
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
            let proposals: Vec<MyProposalTuple> = sqlx::query_as(MY_COFFEE_PROPOSALS)
                .bind(member)
                .fetch_all(&mut *conn)
                .await?;
            let ids: Vec<String> = proposals.iter().map(|p| p.0.clone()).collect();
            let mut slots = conn.coffee_slots(&ids).await?;
            let proposals: Vec<serde_json::Value> = proposals
                .into_iter()
                .map(|p| {
                    let offered = slots.remove(&p.0).unwrap_or_default();
                    proposal_json(member, p, &offered, now)
                })
                .collect();
            Ok(Some(json!({
                "format": "rendezvous.members.export.v1",
                "profile": {
                    "id": m.id.to_string(),
                    "email": m.email,
                    "display_name": m.display_name,
                    "headline": m.headline,
                    "company": m.company,
                    "city": m.city,
                    "interests": m.interests,
                    "locale": m.locale,
                    "time_zone": m.time_zone,
                    "linkedin_url": m.linkedin_url,
                    "visibility": m.visibility.as_str(),
                    "findable_by_contact_details": m.findable_by_contact_details,
                    "created_at": m.created_at,
                    "updated_at": m.updated_at,
                },
                "sessions": sessions.iter().map(|s| json!({
                    "id": s.0, "created_at": s.1, "expires_at": s.2, "revoked_at": s.3, "revoke_reason": s.4,
                })).collect::<Vec<_>>(),
                "connections": connections.iter().map(|c| json!({
                    "member_id": c.0, "connected_at": c.1,
                })).collect::<Vec<_>>(),
                "connection_requests": requests.into_iter().map(RequestRow::try_from).collect::<Result<Vec<_>, _>>()?.into_iter().map(|r| json!({
                    "id": r.id, "requester_id": r.requester_id, "addressee_id": r.addressee_id,
                    "note": r.note, "state": r.state.as_str(), "created_at": r.created_at, "updated_at": r.updated_at,
                })).collect::<Vec<_>>(),
                "blocked_members": blocks.iter().map(|b| json!({
                    "member_id": b.0, "blocked_at": b.1,
                })).collect::<Vec<_>>(),
                "meetings": meetings.iter().map(|p| json!({
                    "event_id": p.0, "member_id": p.1, "confirmed": p.2, "dismissed": p.3, "met": p.4, "hoped_to_meet": p.5,
                })).collect::<Vec<_>>(),
                "met_in_person": met.iter().map(|e| json!({
                    "member_id": e.0, "event_id": e.1, "met_at": e.2,
                })).collect::<Vec<_>>(),
                "coffee_settings": {
                    "opted_in": coffee.opted_in,
                    "cadence": coffee.cadence.as_str(),
                    "availability": coffee.availability.iter().map(|w| {
                        let w = w.to_proto();
                        json!({"weekday": w.weekday().as_str_name(), "start_time": w.start_time, "end_time": w.end_time})
                    }).collect::<Vec<_>>(),
                    "time_zone": coffee.time_zone,
                    "preferred_areas": coffee.preferred_areas,
                    "snoozed_until": coffee.snoozed_until,
                    "do_not_pair_member_ids": coffee.do_not_pair.iter().map(Uuid::to_string).collect::<Vec<_>>(),
                    "updated_at": coffee.updated_at,
                },
                "coffee_proposals": proposals,
                "remeet_settings": {
                    "opted_in": remeet.opted_in,
                    "after_days": remeet.after_days,
                },
                "remeet_nudges": nudges.iter().map(nudge_json).collect::<Vec<_>>(),
            })))
        })
    }
}
