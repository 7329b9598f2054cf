//! Both sides writing one document while messages cross on the wire: the exchange converges,
//! and a message that brings nothing is not answered with one that says nothing new.

use super::*;

/// A deterministic stream of choices (xorshift), so that a failure replays.
struct Choices(u64);

impl Choices {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// One side of the wire: its session, its documents, and the messages on their way to it.
struct Side {
    session: Session,
    docs: Memory,
    inbox: std::collections::VecDeque<Message>,
    received: usize,
}

impl Side {
    fn new(session: Session) -> Self {
        Self {
            session,
            docs: Memory::default(),
            inbox: Default::default(),
            received: 0,
        }
    }

    /// Takes in the oldest message on its way here; returns the answers.
    fn take_one(&mut self) -> Vec<Message> {
        let Some(message) = self.inbox.pop_front() else {
            return Vec::new();
        };
        self.received += 1;
        let decoded = decode(&encode(&message)).unwrap();
        self.session.receive(decoded, &mut self.docs).unwrap().send
    }

    fn note(&mut self, id: DocumentId, user: &str, text: &str) -> Vec<Message> {
        add_note(
            self.docs.docs.get_mut(&id).unwrap(),
            user,
            Team::Sales,
            text,
            false,
        );
        self.session.sync_document(id, &mut self.docs).unwrap()
    }
}

/// Runs both sides writing `notes` notes each, with up to `lag` messages held on the wire
/// before one is delivered; returns the messages each side received.
fn write_while_crossing(seed: u64, notes: usize, lag: usize) -> (usize, usize) {
    let (client, relay) = connected(false);
    let (mut client, mut relay) = (Side::new(client), Side::new(relay));
    let id = DocumentId::random();
    client.docs.docs.insert(id, account_with_note("first"));
    let first = client.session.sync_document(id, &mut client.docs).unwrap();
    pump(
        &mut relay.session,
        &mut relay.docs,
        &mut client.session,
        &mut client.docs,
        Vec::new(),
    );
    relay.inbox.extend(first);
    while !(client.inbox.is_empty() && relay.inbox.is_empty()) {
        let answers = relay.take_one();
        client.inbox.extend(answers);
        let answers = client.take_one();
        relay.inbox.extend(answers);
    }
    let (start_client, start_relay) = (client.received, relay.received);
    let mut choices = Choices(seed);
    let (mut written_client, mut written_relay) = (0, 0);
    while written_client < notes || written_relay < notes {
        match choices.next(4) {
            0 if written_client < notes => {
                let sent = client.note(id, "bo", &format!("client note {written_client}"));
                relay.inbox.extend(sent);
                written_client += 1;
            }
            1 if written_relay < notes => {
                let sent = relay.note(id, "cy", &format!("relay note {written_relay}"));
                client.inbox.extend(sent);
                written_relay += 1;
            }
            // Messages wait on the wire until `lag` of them are there.
            _ => {
                if relay.inbox.len() > lag {
                    let answers = relay.take_one();
                    client.inbox.extend(answers);
                }
                if client.inbox.len() > lag {
                    let answers = client.take_one();
                    relay.inbox.extend(answers);
                }
            }
        }
    }
    let mut rounds = 0;
    while !(client.inbox.is_empty() && relay.inbox.is_empty()) {
        rounds += 1;
        assert!(rounds < 10_000, "the exchange did not end");
        let answers = relay.take_one();
        client.inbox.extend(answers);
        let answers = client.take_one();
        relay.inbox.extend(answers);
    }
    let (a, b) = (&client.docs.docs[&id], &relay.docs.docs[&id]);
    assert_eq!(
        a.get_heads(),
        b.get_heads(),
        "seed {seed}: the copies differ"
    );
    assert_eq!(
        super::notes(a).len(),
        1 + 2 * notes,
        "seed {seed}: a note is missing"
    );
    (client.received - start_client, relay.received - start_relay)
}

#[test]
fn writing_on_both_sides_while_messages_cross_converges_without_answering_echoes() {
    for seed in 1..=20u64 {
        let notes = 30;
        let (client, relay) = write_while_crossing(seed * 7919, notes, 4);
        let per_note = (client + relay) as f64 / (2 * notes) as f64;
        println!(
            "seed {seed}: {client} + {relay} messages for {} notes",
            2 * notes
        );
        assert!(
            per_note <= 3.0,
            "seed {seed}: {per_note:.2} messages per note ({client} to the client, {relay} to the relay)"
        );
    }
}

#[test]
fn delivered_at_once_each_note_costs_at_most_two_messages_each_way() {
    let (client, relay) = write_while_crossing(42, 30, 0);
    assert!(client + relay <= 4 * 60, "{client} + {relay}");
}
