//! Coffee proposal rounds in the database against the rules as `domain::pairing` states them:
//! random worlds (members in two cities, settings, connections some of them met, blocks,
//! do-not-pair lists) written with SQL, then rounds months apart, each round's proposals
//! compared with what the domain's rules and matching give on the same world and history.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use rendezvous_common::db::Db;
use rendezvous_common::with_db;
use rendezvous_members::domain::coffee::{Cadence, CoffeeSettings, Window};
use rendezvous_members::domain::pairing::{
    Matcher, MemberState, PairFacts, Rules, due, pair_allowed, priority,
};
use rendezvous_members::store::{RoundSettings, Store};
use rendezvous_proto::notifications::v1 as npb;
use rendezvous_testkit::{Backend, MembersHandle, backend_tests, outbox_keys_and_notices};
use uuid::Uuid;

const MEMBERS: usize = 16;
const RESPOND_WITHIN: Duration = Duration::days(3);

struct World {
    ids: Vec<Uuid>,
    cities: Vec<&'static str>,
    /// `None`: never changed their settings (opted out).
    settings: Vec<Option<CoffeeSettings>>,
    /// (a, b) with ids[a] < ids[b] → (connected at, met).
    connections: BTreeMap<(usize, usize), (DateTime<Utc>, bool)>,
    blocks: BTreeSet<(usize, usize)>,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, 2, 9, 0, 0).unwrap()
}

fn world(rng: &mut StdRng) -> World {
    let mut ids: Vec<Uuid> = (0..MEMBERS).map(|_| Uuid::now_v7()).collect();
    ids.sort();
    let cities = (0..MEMBERS)
        .map(|_| if rng.gen_bool(0.7) { "Paris" } else { "Lyon" })
        .collect();
    let window = Window {
        weekday: chrono::Weekday::Tue,
        start: 480,
        end: 600,
    };
    let settings = (0..MEMBERS)
        .map(|_| {
            rng.gen_bool(0.85).then(|| CoffeeSettings {
                opted_in: rng.gen_bool(0.8),
                cadence: match rng.gen_range(0..3) {
                    0 => Cadence::Weekly,
                    1 => Cadence::Fortnightly,
                    _ => Cadence::Monthly,
                },
                availability: vec![window],
                snoozed_until: rng
                    .gen_bool(0.15)
                    .then(|| start() + Duration::days(rng.gen_range(0..30))),
                do_not_pair: {
                    let mut dnp: Vec<Uuid> = (0..rng.gen_range(0..2))
                        .map(|_| ids[rng.gen_range(0..MEMBERS)])
                        .collect();
                    dnp.sort();
                    dnp.dedup();
                    dnp
                },
                ..CoffeeSettings::default()
            })
        })
        .collect();
    let mut connections = BTreeMap::new();
    for _ in 0..45 {
        let (a, b) = (rng.gen_range(0..MEMBERS), rng.gen_range(0..MEMBERS));
        if a != b {
            let at = start() - Duration::hours(rng.gen_range(1..20_000));
            connections.insert((a.min(b), a.max(b)), (at, rng.gen_bool(0.25)));
        }
    }
    let blocks = (0..3)
        .map(|_| (rng.gen_range(0..MEMBERS), rng.gen_range(0..MEMBERS)))
        .filter(|(a, b)| a != b)
        .collect();
    World {
        ids,
        cities,
        settings,
        connections,
        blocks,
    }
}

/// Writes the world into members' tables, as the service would have.
async fn write(db: &Db, w: &World) {
    let created = start() - Duration::days(1000);
    with_db!(db, |pool| {
        for (i, id) in w.ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO members (id, email, display_name, city, city_key, locale, time_zone, \
                 visibility, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, lower($4), 'en', 'Europe/Paris', 'public', $5, $5)",
            )
            .bind(id.to_string())
            .bind(format!("m{i}.{}@example.com", id.simple()))
            .bind(format!("Member {i}"))
            .bind(w.cities[i])
            .bind(created)
            .execute(pool)
            .await
            .unwrap();
            if let Some(s) = &w.settings[i] {
                sqlx::query(
                    "INSERT INTO coffee_settings (member_id, opted_in, cadence, availability, \
                     time_zone, preferred_areas, snoozed_until, updated_at) \
                     VALUES ($1, $2, $3, '2 480-600', '', '[]', $4, $5)",
                )
                .bind(id.to_string())
                .bind(s.opted_in)
                .bind(s.cadence.as_str())
                .bind(s.snoozed_until)
                .bind(created)
                .execute(pool)
                .await
                .unwrap();
                for other in &s.do_not_pair {
                    sqlx::query(
                        "INSERT INTO coffee_do_not_pair (member_id, other_id) VALUES ($1, $2)",
                    )
                    .bind(id.to_string())
                    .bind(other.to_string())
                    .execute(pool)
                    .await
                    .unwrap();
                }
            }
        }
        for ((a, b), (at, met)) in &w.connections {
            let (a, b) = (w.ids[*a].to_string(), w.ids[*b].to_string());
            sqlx::query(
                "INSERT INTO connections (member_a, member_b, created_at) VALUES ($1, $2, $3)",
            )
            .bind(&a)
            .bind(&b)
            .bind(*at)
            .execute(pool)
            .await
            .unwrap();
            if *met {
                sqlx::query(
                    "INSERT INTO met_edges (member_a, member_b, event_id, met_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&a)
                .bind(&b)
                .bind(Uuid::now_v7().to_string())
                .bind(*at)
                .execute(pool)
                .await
                .unwrap();
            }
        }
        for (blocker, blocked) in &w.blocks {
            sqlx::query(
                "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(w.ids[*blocker].to_string())
            .bind(w.ids[*blocked].to_string())
            .bind(created)
            .execute(pool)
            .await
            .unwrap();
        }
    });
}

/// The round the rules give, by index pairs in the order the matching takes them.
fn expected(
    w: &World,
    history: &HashMap<usize, DateTime<Utc>>,
    pairs: &HashMap<(usize, usize), DateTime<Utc>>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Vec<(usize, usize)> {
    let state = |i: usize| {
        w.settings[i].as_ref().map(|settings| MemberState {
            settings: settings.clone(),
            last_proposed_at: history.get(&i).copied(),
            has_open_proposal: history.get(&i).is_some_and(|at| *at + RESPOND_WITHIN > now),
        })
    };
    let is_due = |i: usize| state(i).is_some_and(|s| due(&s, now));
    let dnp = |a: usize, b: usize| {
        w.settings[a]
            .as_ref()
            .is_some_and(|s| s.do_not_pair.contains(&w.ids[b]))
    };
    let mut candidates: Vec<_> = w
        .connections
        .iter()
        .filter(|((a, b), (_, met))| {
            let facts = PairFacts {
                same_city: w.cities[*a] == w.cities[*b],
                blocked: w.blocks.contains(&(*a, *b)) || w.blocks.contains(&(*b, *a)),
                do_not_pair: dnp(*a, *b) || dnp(*b, *a),
                last_proposed_at: pairs.get(&(*a, *b)).copied(),
            };
            !met && pair_allowed(&facts, rules, now) && is_due(*a) && is_due(*b)
        })
        .map(|((a, b), (at, _))| (priority(*at, w.ids[*a], w.ids[*b]), *a, *b))
        .collect();
    candidates.sort();
    let mut matcher = Matcher::new();
    let mut taken = Vec::new();
    for (_, a, b) in candidates {
        if matcher.offer(w.ids[a], w.ids[b]) {
            taken.push((a, b));
        }
    }
    taken
}

async fn rounds_propose_what_the_rules_and_the_matching_give(backend: Backend) {
    let mut proposed = 0;
    for seed in 0..6_u64 {
        let stack = MembersHandle::start(backend).await.unwrap();
        let store = Store::new(stack.db.clone());
        let mut rng = StdRng::seed_from_u64(seed);
        let w = world(&mut rng);
        write(&stack.db, &w).await;
        let index: HashMap<Uuid, usize> =
            w.ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let settings = RoundSettings {
            rules: Rules {
                repeat_after: Duration::days(45),
            },
            respond_within: RESPOND_WITHIN,
        };
        let (mut history, mut pairs) = (HashMap::new(), HashMap::new());
        let mut in_world = 0;
        let mut now = start();
        for round in 0..8 {
            now += Duration::days(rng.gen_range(1..12));
            let want = expected(&w, &history, &pairs, &settings.rules, now);
            let outcome = store.coffee_round(&settings, now).await.unwrap();
            let got: Vec<(usize, usize)> = outcome
                .proposals
                .iter()
                .map(|p| (index[&p.a], index[&p.b]))
                .collect();
            assert_eq!(got, want, "seed {seed}, round {round}");
            for p in &outcome.proposals {
                // Each of the two is told of the other, once, in their own zone.
                let told =
                    outbox_keys_and_notices(&stack.db, &format!("coffee-proposed:{}:", p.id)).await;
                assert_eq!(told.len(), 2, "{told:?}");
                for (me, other) in [(p.a, p.b), (p.b, p.a)] {
                    let key = format!("coffee-proposed:{}:{me}", p.id);
                    let (_, notice) = told.iter().find(|(k, _)| *k == key).expect("told");
                    let Some(npb::notice::Notice::CoffeeProposed(n)) = &notice.notice else {
                        panic!("{notice:?}");
                    };
                    let named = n.member.as_ref().unwrap();
                    assert_eq!(named.member_id, other.to_string());
                    assert_eq!(named.display_name, format!("Member {}", index[&other]));
                    assert_eq!(n.city, w.cities[index[&me]]);
                    assert_eq!(n.time_zone, "Europe/Paris");
                    assert_eq!(
                        n.respond_by.map(|t| t.seconds),
                        Some((now + RESPOND_WITHIN).timestamp())
                    );
                }
            }
            for (a, b) in got {
                history.insert(a, now);
                history.insert(b, now);
                pairs.insert((a, b), now);
                in_world += 1;
            }
        }
        let told = outbox_keys_and_notices(&stack.db, "coffee-proposed:").await;
        assert_eq!(told.len(), 2 * in_world, "two notices a proposal, no more");
        proposed += in_world;
        stack.stop().await.unwrap();
    }
    assert!(
        proposed >= 20,
        "only {proposed} proposals over every world: the test proves little"
    );
}

backend_tests!(rounds_propose_what_the_rules_and_the_matching_give);
