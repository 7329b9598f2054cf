// A stock JavaScript automerge-repo peer (as a browser tab would be) on one Rapport account.
//
//   node relay.mjs WS_URL ACCOUNT_URL [NOTE_TEXT] [--author USER --team TEAM] [--alert TARGET]...
//                  [--until TEXT]
//
// Connects to WS_URL (a Rapport relay with `?token=...`, or a plain automerge-repo sync server),
// finds the `automerge:` ACCOUNT_URL and prints one JSON line of what it read: the account's
// name and timeline (see readAccount in peer.mjs). With NOTE_TEXT it then adds a note to the
// timeline in the shape the Rust model writes, as USER of TEAM (by default: who the relay says
// the token belongs to), alerting each TARGET; waits until the server holds exactly this peer's
// heads; and prints a second JSON line `{"wrote": ID, "author": ..., "team": ...}`.
// Any failure, or a wait longer than INTEROP_TIMEOUT_MS (30 s), exits non-zero with a message on
// stderr.
import { parseArgs } from "node:util"
import { connect, fail, watchdog, readAccount, addNote, untilPeerHas } from "./peer.mjs"

const usage = "usage: node relay.mjs WS_URL automerge:ACCOUNT [NOTE_TEXT] " +
  "[--author USER --team TEAM] [--alert TARGET]... [--until TEXT]"
let args
try {
  args = parseArgs({
    allowPositionals: true,
    options: {
      author: { type: "string" },
      team: { type: "string" },
      alert: { type: "string", multiple: true, default: [] },
      until: { type: "string" },
    },
  })
} catch (error) {
  fail(`${error.message}\n${usage}`)
}
const [url, accountUrl, noteText, ...extra] = args.positionals
const { author, team, alert, until } = args.values
if (!url || !accountUrl?.startsWith("automerge:") || extra.length || !author !== !team) fail(usage)

let step = "connecting"
const done = watchdog(() => `while ${step} (${url.replace(/token=[^&]*/, "token=...")})`)

const { repo, peerId, peerMetadata } = await connect(url)
step = `finding ${accountUrl}`
const handle = await repo.find(accountUrl).catch(error => fail(`${step}: ${error.message}`))
console.log(JSON.stringify(readAccount(handle.doc())))

if (noteText !== undefined) {
  // A Rapport relay tells each peer who its token belongs to, as a web client would learn it.
  const identity = peerMetadata?.rapportIdentity
  const as = author ? { author, team } : identity && { author: identity.user, team: identity.team }
  if (!as) fail("the server did not say who the token belongs to: pass --author and --team")
  step = "waiting for the server to hold the new note"
  const synced = untilPeerHas(repo, handle, peerId)
  const id = addNote(handle, { text: noteText, alert, ...as })
  await synced
  console.log(JSON.stringify({ wrote: id, ...as }))
}

if (until !== undefined) {
  step = `waiting for a timeline entry ${JSON.stringify(until)}`
  const arrived = () => readAccount(handle.doc()).timeline.find(entry => entry.text === until)
  const entry = arrived() ?? await new Promise(resolve => {
    handle.on("change", () => arrived() && resolve(arrived()))
  })
  console.log(JSON.stringify({ saw: entry }))
}

step = "shutting down"
await repo.shutdown()
done()
process.exit(0)
