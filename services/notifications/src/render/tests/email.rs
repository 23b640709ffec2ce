//! The email around every message (greeting, footer, unsubscribe link, HTML escaping), and
//! the locale and time formats all kinds use.

use super::*;

#[test]
fn inserted_values_are_html_escaped() {
    let hostile_event = pb::EventFacts {
        title: "Tom & \"Jerry\" <b>".to_owned(),
        ..event()
    };
    let hostile_member = pb::MemberFacts {
        display_name: "<script>alert('x')</script>".to_owned(),
        ..zoe()
    };
    let notices: Vec<pb::Notice> = vec![
        pb::ConnectionRequested {
            request_id: REQUEST_ID.to_owned(),
            requester: Some(hostile_member.clone()),
            note: "</p><script>".to_owned(),
        }
        .into(),
        pb::EventInvitation {
            event: Some(hostile_event.clone()),
            inviter: Some(hostile_member),
        }
        .into(),
        pb::EventAnnouncement {
            event: Some(hostile_event),
            host: Some(anna()),
            message: "<img src=x onerror=alert(1)>".to_owned(),
        }
        .into(),
    ];
    for notice in notices.iter().chain(&full_notices()) {
        for locale in [Locale::En, Locale::Fr] {
            let rendered = render(notice, locale, "<i>Camille</i>");
            for raw in ["<script", "<img", "<b>", "<i>", "</p><"] {
                assert!(!rendered.html.contains(raw), "{notice:?} {locale:?}: {raw}");
            }
            assert!(rendered.html.contains("&lt;i&gt;Camille&lt;/i&gt;"));
        }
    }
    let rendered = render(&notices[0], Locale::En, "");
    assert!(
        rendered
            .html
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
    );
    let rendered = render(&notices[1], Locale::En, "");
    assert!(
        rendered
            .html
            .contains("Tom &amp; &quot;Jerry&quot; &lt;b&gt;")
    );
}

#[test]
fn escape_covers_the_five_special_characters() {
    assert_eq!(
        escape(r#"<a href="x">'&'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
}

#[test]
fn text_greets_the_recipient_and_ends_with_the_preferences_footer() {
    let confirmed = find(NotificationKind::RsvpConfirmed);
    let en = render(&confirmed, Locale::En, "Camille");
    assert!(en.text.starts_with("Hello Camille,\n\n"));
    assert!(en.text.contains("notification preferences"));
    assert_eq!(en.title, "You’re going: Café networking — Le Marais");
    assert!(
        en.body
            .contains("Your place at “Café networking — Le Marais” is confirmed.")
    );
    assert!(en.body.contains(
        "When: Thursday 5 June 2025 at 08:30\n\
         Where: Le Peloton Café, 17 rue du Pont Louis-Philippe, 75004 Paris"
    ));

    let fr = render(&confirmed, Locale::Fr, "Camille");
    assert!(fr.text.starts_with("Bonjour Camille,\n\n"));
    assert!(fr.text.contains("préférences de notification"));
    assert_eq!(
        fr.title,
        "Inscription confirmée\u{a0}: Café networking — Le Marais"
    );
    assert!(
        fr.body
            .contains("«\u{a0}Café networking — Le Marais\u{a0}»")
    );
    assert!(
        fr.body
            .contains("Quand\u{a0}: jeudi 5\u{a0}juin 2025 à 8\u{a0}h\u{a0}30")
    );

    let anonymous = render(&confirmed, Locale::Fr, " ");
    assert!(anonymous.text.starts_with("Bonjour,\n\n"));
}

#[test]
fn times_are_shown_in_the_events_zone_with_french_premier() {
    let new_year = at(2026, 1, 1, 8, 5);
    assert_eq!(
        format_time(new_year, "Europe/Paris", Locale::Fr),
        "jeudi 1er\u{a0}janvier 2026 à 9\u{a0}h\u{a0}05"
    );
    assert_eq!(
        format_time(new_year, "America/New_York", Locale::En),
        "Thursday 1 January 2026 at 03:05"
    );
    assert_eq!(
        format_time(new_year, "Mars/Olympus", Locale::En),
        "Thursday 1 January 2026 at 08:05 UTC"
    );
    assert_eq!(
        format_time(new_year, "", Locale::Fr),
        "jeudi 1er\u{a0}janvier 2026 à 8\u{a0}h\u{a0}05 UTC"
    );
}

#[test]
fn locale_parse_reads_french_tags_and_defaults_to_english() {
    for tag in ["fr", "FR", "fr-FR", "fr_CA", " fr "] {
        assert_eq!(Locale::parse(tag), Locale::Fr, "{tag}");
    }
    for tag in ["", "en", "en-GB", "de", "f", "é"] {
        assert_eq!(Locale::parse(tag), Locale::En, "{tag}");
    }
}

#[test]
fn a_notification_stored_before_notices_is_emailed_as_its_inbox_item_reads() {
    let url = "https://rendezvous.example/unsubscribe?token=a.b.c";
    let confirmed = render_email(
        &find(NotificationKind::RsvpConfirmed),
        Locale::Fr,
        "Camille",
        url,
    );
    let again = render_stored(
        &confirmed.title,
        &confirmed.body,
        Locale::Fr,
        "Camille",
        url,
    );
    assert_eq!(again, confirmed);
}

#[test]
fn emails_end_with_an_unsubscribe_link_and_the_inbox_does_not_show_it() {
    let url = "https://rendezvous.example/unsubscribe?token=a.b.c&x=<y>";
    let notice = find(NotificationKind::RsvpConfirmed);
    let plain = render(&notice, Locale::En, "Camille");
    assert!(!plain.text.contains("Unsubscribe"), "{}", plain.text);
    assert!(!plain.html.contains("Unsubscribe"), "{}", plain.html);

    let en = render_email(&notice, Locale::En, "Camille", url);
    assert_eq!((&en.title, &en.body), (&plain.title, &plain.body));
    assert!(
        en.text
            .ends_with(&format!("\nUnsubscribe from emails like this one: {url}\n")),
        "{}",
        en.text
    );
    assert!(
        en.html.contains(
            "<a href=\"https://rendezvous.example/unsubscribe?token=a.b.c&amp;x=&lt;y&gt;\" \
             style=\"color:#6b7280;\">Unsubscribe from emails like this one</a>"
        ),
        "{}",
        en.html
    );
    let fr = render_email(&notice, Locale::Fr, "Camille", url);
    assert!(
        fr.text.ends_with(&format!(
            "\nSe désabonner des e-mails de ce type\u{a0}: {url}\n"
        )),
        "{}",
        fr.text
    );
    assert!(
        fr.html
            .contains(">Se désabonner des e-mails de ce type</a>")
    );
}
