// Test data for trying the peers by hand (the Rust harness writes the real data set).
//
//   node gen.mjs --count N --out DIR
//
// Writes N documents shaped roughly like a Rapport account (a name, a domain, 5 contacts in a
// map, 20 timeline entries in a map, each with a text) into DIR as `<documentId>.automerge`,
// each the bytes of `Automerge.save()`, and their ids, one a line, in DIR/ids.txt.
import { parseArgs } from "node:util"
import { mkdir, writeFile } from "node:fs/promises"
import path from "node:path"
// The Automerge automerge-repo itself loads (it depends on it, and npm installs it beside it).
// automerge-repo uses its `next` API, which both Automerge 2 and 3 export, so this does too.
import { next as Automerge } from "@automerge/automerge"
import { generateAutomergeUrl, parseAutomergeUrl, ImmutableString } from "@automerge/automerge-repo"

const usage = "usage: node gen.mjs --count N --out DIR"
function fail(message) {
  process.stderr.write(`gen.mjs: ${message}\n`)
  process.exit(1)
}

let options
try {
  options = parseArgs({ options: { count: { type: "string" }, out: { type: "string" } } }).values
} catch (error) {
  fail(`${error.message}\n${usage}`)
}
const count = Number(options.count)
if (!options.out || !Number.isInteger(count) || count < 0) fail(usage)
await mkdir(options.out, { recursive: true })

const words = ("renewal pricing onboarding contract pilot security review invoice champion " +
  "budget rollout integration training kickoff escalation forecast quarterly migration").split(" ")
const pick = list => list[Math.floor(Math.random() * list.length)]
const sentence = n => Array.from({ length: n }, () => pick(words)).join(" ")

// Timeline keys sort by time, as the model's ULIDs do; a counter keeps them unique.
let sequence = 0
const entryKey = at => `${at.toString(36).padStart(10, "0")}${(sequence++).toString(36).padStart(6, "0")}`

const ids = []
for (let i = 0; i < count; i++) {
  // A fresh automerge-repo id (bs58check of 16 random bytes), as `repo.create()` would make.
  const { documentId } = parseAutomergeUrl(generateAutomergeUrl())
  const contacts = {}
  for (let c = 0; c < 5; c++) {
    contacts[`contact-${c}`] = {
      name: new ImmutableString(`Contact ${c} of account ${i}`),
      email: new ImmutableString(`person${c}@account${i}.example`),
      role: new ImmutableString(pick(["buyer", "champion", "legal", "finance", "engineer"])),
    }
  }
  let doc = Automerge.from({
    type: new ImmutableString("account"),
    name: new ImmutableString(`Account ${i}`),
    domain: new ImmutableString(`account${i}.example`),
    contacts,
    timeline: {},
  })
  // One change per entry, as a team would add them over time: the history the peers sync is
  // then made of many small changes, not one big one.
  const start = Date.now() - 20 * 86_400_000
  for (let e = 0; e < 20; e++) {
    const at = start + e * 86_400_000
    doc = Automerge.change(doc, d => {
      d.timeline[entryKey(at)] = {
        kind: new ImmutableString("note"),
        author: new ImmutableString(`user${e % 4}`),
        at: new Date(at),
        // A plain string is an Automerge text, as the model stores a note's text.
        text: `Note ${e}: ${sentence(12 + (e % 8))}.`,
      }
    })
  }
  await writeFile(path.join(options.out, `${documentId}.automerge`), Automerge.save(doc))
  ids.push(documentId)
}
await writeFile(path.join(options.out, "ids.txt"), ids.map(id => `${id}\n`).join(""))
process.stderr.write(`gen.mjs: wrote ${count} documents to ${options.out}\n`)
