//! The demo's people, connections, chapters and meetups, and who takes coffee proposals.

use rendezvous_proto::events::v1 as pb;
use rendezvous_proto::members::v1 as mpb;

pub(super) struct Profile {
    pub(super) name: &'static str,
    pub(super) city: &'static str,
    pub(super) locale: &'static str,
    pub(super) time_zone: &'static str,
    pub(super) headline: &'static str,
    pub(super) company: &'static str,
    pub(super) interests: [&'static str; 2],
}

const fn profile(
    name: &'static str,
    city: &'static str,
    locale: &'static str,
    time_zone: &'static str,
    headline: &'static str,
    company: &'static str,
    interests: [&'static str; 2],
) -> Profile {
    Profile {
        name,
        city,
        locale,
        time_zone,
        headline,
        company,
        interests,
    }
}

pub(super) const PARIS: &str = "Europe/Paris";
pub(super) const CASABLANCA: &str = "Africa/Casablanca";
pub(super) const LONDON: &str = "Europe/London";

pub(super) const ANNA: usize = 0;
pub(super) const KARIM: usize = 1;
pub(super) const CHLOE: usize = 2;
pub(super) const BRUNO: usize = 3;
pub(super) const NORA: usize = 4;
pub(super) const LEA: usize = 5;
pub(super) const HUGO: usize = 6;
pub(super) const YASMINE: usize = 7;
pub(super) const OMAR: usize = 8;
pub(super) const SOPHIE: usize = 9;
pub(super) const JAMES: usize = 10;
pub(super) const PRIYA: usize = 11;

#[rustfmt::skip]
pub(super) const PEOPLE: [Profile; 12] = [
    profile("Anna Dupont", "Paris", "fr", PARIS, "Community builder", "Atelier Lumière", ["design", "coffee"]),
    profile("Karim Benali", "Paris", "fr", PARIS, "Product manager", "Mistral Cargo", ["product", "cycling"]),
    profile("Chloé Bernard", "Paris", "fr", PARIS, "UX researcher", "Quai 36", ["research", "design"]),
    profile("Bruno Lefèvre", "Paris", "fr", PARIS, "Data engineer", "Rivage", ["data", "running"]),
    profile("Nora Wilson", "Paris", "en", PARIS, "Founder", "Sprout Labs", ["startups", "coffee"]),
    profile("Léa Martin", "Lyon", "fr", PARIS, "Project lead", "Canut Digital", ["events", "food"]),
    profile("Hugo Petit", "Lyon", "fr", PARIS, "Developer", "Traboule", ["rust", "climbing"]),
    profile("Yasmine El Amrani", "Casablanca", "fr", CASABLANCA, "Marketing lead", "Atlas Media", ["marketing", "photography"]),
    profile("Omar Benjelloun", "Casablanca", "fr", CASABLANCA, "Engineer", "Corniche Tech", ["ai", "football"]),
    profile("Sophie Taylor", "Manchester", "en", LONDON, "Recruiter", "Northern Quarter Talent", ["hiring", "music"]),
    profile("James Walker", "Manchester", "en", LONDON, "Designer", "Ancoats Studio", ["design", "football"]),
    profile("Priya Shah", "Manchester", "en", LONDON, "Analyst", "Deansgate Capital", ["finance", "books"]),
];

/// Who asked whom to connect; all accepted.
pub(super) const CONNECTIONS: [(usize, usize); 14] = [
    (ANNA, KARIM),
    (ANNA, CHLOE),
    (ANNA, BRUNO),
    (NORA, ANNA),
    (ANNA, LEA),
    (YASMINE, ANNA),
    (ANNA, SOPHIE),
    (KARIM, CHLOE),
    (BRUNO, NORA),
    (LEA, HUGO),
    (YASMINE, OMAR),
    (SOPHIE, JAMES),
    (JAMES, PRIYA),
    (KARIM, OMAR),
];

pub(super) struct Chapter {
    pub(super) name: &'static str,
    pub(super) city: &'static str,
    pub(super) time_zone: &'static str,
    pub(super) organiser: usize,
    pub(super) members: &'static [usize],
}

pub(super) const CHAPTERS: [Chapter; 4] = [
    Chapter {
        name: "Rendezvous Paris",
        city: "Paris",
        time_zone: PARIS,
        organiser: ANNA,
        members: &[KARIM, CHLOE, BRUNO, NORA],
    },
    Chapter {
        name: "Rendezvous Lyon",
        city: "Lyon",
        time_zone: PARIS,
        organiser: LEA,
        members: &[HUGO, ANNA],
    },
    Chapter {
        name: "Rendezvous Casablanca",
        city: "Casablanca",
        time_zone: CASABLANCA,
        organiser: YASMINE,
        members: &[OMAR],
    },
    Chapter {
        name: "Rendezvous Manchester",
        city: "Manchester",
        time_zone: LONDON,
        organiser: SOPHIE,
        members: &[JAMES, PRIYA],
    },
];

/// A meetup: its chapter (index in [`CHAPTERS`]), when (days from today, local time), where,
/// who hosts, who goes, and (for a past one) who came.
pub(super) struct Meetup {
    pub(super) chapter: usize,
    pub(super) title: &'static str,
    pub(super) kind: pb::EventKind,
    pub(super) days: i64,
    pub(super) at: (u32, u32),
    pub(super) minutes: i64,
    pub(super) venue: (&'static str, &'static str, f64, f64),
    pub(super) capacity: i32,
    pub(super) host: usize,
    pub(super) going: &'static [usize],
    pub(super) came: &'static [usize],
}

pub(super) const PAST: [Meetup; 5] = [
    Meetup {
        chapter: 0,
        title: "Café networking — Le Marais",
        kind: pb::EventKind::Coffee,
        days: -35,
        at: (8, 30),
        minutes: 90,
        venue: (
            "Café Saint-Paul",
            "12 rue Saint-Paul, 75004 Paris",
            48.8540,
            2.3620,
        ),
        capacity: 20,
        host: ANNA,
        going: &[ANNA, KARIM, CHLOE, BRUNO],
        // Bruno did not make it.
        came: &[ANNA, KARIM, CHLOE],
    },
    Meetup {
        chapter: 3,
        title: "Drinks in the Northern Quarter",
        kind: pb::EventKind::Drinks,
        days: -21,
        at: (18, 30),
        minutes: 120,
        venue: (
            "The Koffee Pot",
            "84-86 Oldham Street, Manchester M4 1LE",
            53.4839,
            -2.2336,
        ),
        capacity: 12,
        host: SOPHIE,
        going: &[SOPHIE, JAMES, PRIYA],
        came: &[SOPHIE, JAMES, PRIYA],
    },
    Meetup {
        chapter: 0,
        title: "Déjeuner — Canal Saint-Martin",
        kind: pb::EventKind::Meal,
        days: -16,
        at: (12, 30),
        minutes: 90,
        venue: (
            "Ten Belles",
            "10 rue de la Grange aux Belles, 75010 Paris",
            48.8716,
            2.3640,
        ),
        capacity: 8,
        host: ANNA,
        going: &[ANNA, KARIM, CHLOE],
        // Anna and Chloé came back; Karim did not make it.
        came: &[ANNA, CHLOE],
    },
    Meetup {
        chapter: 2,
        title: "Dîner networking — Maârif",
        kind: pb::EventKind::Meal,
        days: -14,
        at: (20, 0),
        minutes: 120,
        venue: (
            "Le Cabestan",
            "90 boulevard de la Corniche, Casablanca",
            33.5940,
            -7.6700,
        ),
        capacity: 8,
        host: YASMINE,
        going: &[YASMINE, OMAR],
        came: &[YASMINE, OMAR],
    },
    Meetup {
        chapter: 1,
        title: "Apéro — Vieux Lyon",
        kind: pb::EventKind::Drinks,
        days: -7,
        at: (19, 0),
        minutes: 120,
        venue: (
            "Les Fine Gueules",
            "16 rue Lainerie, 69005 Lyon",
            45.7640,
            4.8270,
        ),
        capacity: 10,
        host: LEA,
        going: &[LEA, HUGO, ANNA],
        came: &[LEA, HUGO, ANNA],
    },
];

/// The next Paris café fills its four seats and has Chloé waiting; a Paris apéro follows.
pub(super) const UPCOMING: [Meetup; 4] = [
    Meetup {
        chapter: 0,
        title: "Café networking — Le Marais",
        kind: pb::EventKind::Coffee,
        days: 0,
        at: (8, 30),
        minutes: 90,
        venue: (
            "Café Saint-Paul",
            "12 rue Saint-Paul, 75004 Paris",
            48.8540,
            2.3620,
        ),
        capacity: 4,
        host: ANNA,
        going: &[ANNA, KARIM, BRUNO, NORA, CHLOE],
        came: &[],
    },
    Meetup {
        chapter: 1,
        title: "Apéro — Croix-Rousse",
        kind: pb::EventKind::Drinks,
        days: 10,
        at: (19, 0),
        minutes: 120,
        venue: (
            "Le Comptoir du Vin",
            "2 rue de Belfort, 69004 Lyon",
            45.7760,
            4.8310,
        ),
        capacity: 15,
        host: HUGO,
        going: &[HUGO, LEA],
        came: &[],
    },
    Meetup {
        chapter: 2,
        title: "Coffee — Anfa",
        kind: pb::EventKind::Coffee,
        days: 12,
        at: (9, 0),
        minutes: 60,
        venue: (
            "Bondi Coffee Kitchen",
            "6 rue Ahmed Al Mokri, Casablanca",
            33.5890,
            -7.6320,
        ),
        capacity: 10,
        host: OMAR,
        going: &[OMAR, YASMINE],
        came: &[],
    },
    Meetup {
        chapter: 0,
        title: "Apéro — Canal Saint-Martin",
        kind: pb::EventKind::Drinks,
        days: 9,
        at: (19, 0),
        minutes: 120,
        venue: (
            "Le Comptoir Général",
            "80 quai de Jemmapes, 75010 Paris",
            48.8718,
            2.3656,
        ),
        capacity: 30,
        host: ANNA,
        going: &[ANNA, BRUNO],
        came: &[],
    },
];

/// Karim opted in to re-meet nudges after 30 days: he met Anna and Chloé at the Marais café
/// 35 days ago and neither since, so the first pass nudges him about Chloé with the Paris
/// apéro (Anna hosts it, so it is no event for the two of them to go to together, and Karim
/// takes no coffees).
pub(super) const REMEET: (usize, u32) = (KARIM, 30);

/// A member who opted in to coffee proposals: how often, when they are free (weekday, local
/// `HH:MM` start and end, in their profile's zone) and where they would rather meet.
pub(super) struct CoffeeOptIn {
    pub(super) member: usize,
    pub(super) cadence: mpb::CoffeeCadence,
    pub(super) windows: &'static [(pb::Weekday, &'static str, &'static str)],
    pub(super) areas: &'static [&'static str],
}

/// Anna and Nora, connected but never met, both free on Tuesday mornings and Thursday
/// lunchtimes: the first round proposes them a coffee.
pub(super) const COFFEE: [CoffeeOptIn; 2] = [
    CoffeeOptIn {
        member: ANNA,
        cadence: mpb::CoffeeCadence::Weekly,
        windows: &[
            (pb::Weekday::Tuesday, "08:00", "10:00"),
            (pb::Weekday::Thursday, "12:30", "14:00"),
        ],
        areas: &["Le Marais", "Canal Saint-Martin"],
    },
    CoffeeOptIn {
        member: NORA,
        cadence: mpb::CoffeeCadence::Fortnightly,
        windows: &[
            (pb::Weekday::Tuesday, "08:30", "10:30"),
            (pb::Weekday::Thursday, "13:00", "15:00"),
        ],
        areas: &["Le Marais"],
    },
];
