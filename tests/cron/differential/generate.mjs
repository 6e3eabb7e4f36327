// Generates croner-table.tsv: random cron expressions, each with a time zone and a start
// instant, and the next 10 fire times that the croner package computes for them.
// tst_cron_differential compares CronSchedule against this table. See README.md.
//
//   npm install --prefix /tmp/croner-gen croner@11.0.1
//   CRONER_DIR=/tmp/croner-gen node tests/cron/differential/generate.mjs
//
// The output depends only on the seed, the croner version and the tz database.

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(join(process.env.CRONER_DIR ?? process.cwd(), 'package.json'));
const { Cron } = require('croner');
const cronerVersion = require('croner/package.json').version;

const SEED = 20250521;
const COUNT = 800;
const RUNS = 10;

// mulberry32: small, fast, deterministic.
function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
const random = rng(SEED);
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(random() * list.length)];
const chance = (p) => random() < p;

// Zones with daylight saving, with their 2025 transitions (UTC), and zones without.
const dstZones = {
    'Europe/Berlin': ['2025-03-30T01:00:00Z', '2025-10-26T01:00:00Z'],
    'Europe/London': ['2025-03-30T01:00:00Z', '2025-10-26T01:00:00Z'],
    'America/New_York': ['2025-03-09T07:00:00Z', '2025-11-02T06:00:00Z'],
    'Australia/Sydney': ['2025-04-05T16:00:00Z', '2025-10-04T16:00:00Z'],
    'Australia/Lord_Howe': ['2025-04-05T15:00:00Z', '2025-10-04T15:30:00Z'],
    'Pacific/Chatham': ['2025-04-05T14:00:00Z', '2025-09-27T14:00:00Z'],
    'America/Santiago': ['2025-04-06T03:00:00Z', '2025-09-07T04:00:00Z'],
};
const plainZones = ['UTC', 'Asia/Kolkata', 'Asia/Tokyo', 'America/Sao_Paulo'];

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const mixedCase = (name) => pick([name, name.toLowerCase(), name[0] + name.slice(1).toLowerCase()]);

// A field is generated as { ours, croner, values } where values is the set it matches (used
// to classify the schedule for the daylight-saving rules).
function numericField(min, max, names, nameBase) {
    const value = () => {
        const v = int(min, max);
        return names && chance(0.3) ? { text: mixedCase(names[v - nameBase]), v } : { text: String(v), v };
    };
    const range = (lo, hi, step) => {
        const s = new Set();
        for (let v = lo; v <= hi; v += step) s.add(v);
        return s;
    };
    const kind = pick(['star', 'value', 'value', 'list', 'range', 'step', 'rangeStep', 'startStep']);
    switch (kind) {
    case 'star':
        return { text: '*', values: range(min, max, 1) };
    case 'value': {
        const { text, v } = value();
        return { text, values: new Set([v]) };
    }
    case 'list': {
        const n = int(2, 4);
        const items = [];
        const values = new Set();
        for (let i = 0; i < n; ++i) {
            const { text, v } = value();
            items.push(text);
            values.add(v);
        }
        return { text: items.join(','), values };
    }
    case 'range': {
        let a = int(min, max), b = int(min, max);
        if (a > b) [a, b] = [b, a];
        return { text: `${a}-${b}`, values: range(a, b, 1) };
    }
    case 'step': {
        const s = int(2, Math.max(2, Math.floor((max - min + 1) / 2)));
        return { text: `*/${s}`, values: range(min, max, s) };
    }
    case 'rangeStep': {
        let a = int(min, max), b = int(min, max);
        if (a > b) [a, b] = [b, a];
        const s = int(1, Math.max(1, b - a));
        return { text: `${a}-${b}/${s}`, values: range(a, b, s) };
    }
    case 'startStep': {
        const a = int(min, max);
        const s = int(2, Math.max(2, Math.floor((max - min + 1) / 2)));
        return { text: `${a}/${s}`, values: range(a, max, s) };
    }
    }
    throw new Error('unreachable');
}

function dayOfMonthField() {
    const r = random();
    if (r < 0.25) return { ours: '*', croner: '*' };
    if (r < 0.32) return { ours: '?', croner: '?' };
    if (r < 0.40) return { ours: 'L', croner: 'L' };
    const f = numericField(1, 31);
    // Deliberate difference 4 (README.md): croner reads "*,L" as "*" (no restriction);
    // CronSchedule counts every day-of-month text other than "*" and "?" as a restriction.
    if (chance(0.1) && f.text !== '*') return { ours: `${f.text},L`, croner: `${f.text},L` };
    return { ours: f.text, croner: f.text };
}

function dayOfWeekField() {
    const r = random();
    if (r < 0.35) return { ours: '*', croner: '*' };
    if (r < 0.40) return { ours: '?', croner: '?' };
    if (r < 0.50) {
        const d = int(0, 7);
        const name = chance(0.4) && d < 7 ? mixedCase(DAYS[d]) : String(d);
        return { ours: `${name}L`, croner: `${name}#L` };
    }
    if (r < 0.60) {
        const d = int(0, 7);
        const name = chance(0.4) && d < 7 ? mixedCase(DAYS[d]) : String(d);
        const n = int(1, 5);
        return { ours: `${name}#${n}`, croner: `${name}#${n}` };
    }
    if (r < 0.67) {
        // Named ranges; croner reads SUN as 0, so a range never ends at SUN here.
        const a = int(1, 5), b = int(a, 6);
        return { ours: `${DAYS[a]}-${DAYS[b]}`, croner: `${DAYS[a]}-${DAYS[b]}` };
    }
    const f = numericField(0, 7);
    return { ours: f.text, croner: f.text };
}

function monthField() {
    if (chance(0.45)) return '*';
    return numericField(1, 12, MONTHS, 1).text;
}

const macros = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function generateExpression() {
    if (chance(0.03)) {
        const m = pick(macros);
        return { ours: m, croner: m, fixedOurs: m !== '@hourly', fixedCroner: m !== '@hourly' };
    }
    const withSeconds = chance(0.3);
    const single = (min, max) => { const v = int(min, max); return { text: String(v), values: new Set([v]) }; };
    const allHours = { text: '*', values: new Set(Array.from({ length: 24 }, (_, i) => i)) };
    let second = withSeconds ? numericField(0, 59) : { text: '0', values: new Set([0]) };
    let minute = numericField(0, 59);
    let hour = chance(0.3) ? allHours : numericField(0, 23);
    // Half of the expressions are shaped so that croner and CronSchedule apply the same
    // daylight-saving rule (see difference 1 below): all hours, or single time values.
    if (chance(0.5)) {
        if (chance(0.5)) {
            hour = allHours;
        } else {
            second = withSeconds ? single(0, 59) : second;
            minute = single(0, 59);
            hour = single(0, 23);
        }
    }
    const dom = dayOfMonthField();
    const month = monthField();
    const dow = dayOfWeekField();
    const head = withSeconds ? [second.text] : [];
    const ours = [...head, minute.text, hour.text, dom.ours, month, dow.ours].join(' ');
    const croner = [...head, minute.text, hour.text, dom.croner, month, dow.croner].join(' ');
    const isSingle = (f) => !f.text.includes('*') && !f.text.includes('/') && f.values.size === 1;
    return {
        ours,
        croner,
        fixedOurs: hour.values.size !== 24,
        fixedCroner: isSingle(second) && isSingle(minute) && isSingle(hour),
    };
}

const iso = (ms) => new Date(ms).toISOString();

function startNear(zone) {
    const transitions = dstZones[zone];
    if (transitions && chance(0.8)) {
        const t = Date.parse(pick(transitions));
        // Up to two days before the transition, at an odd millisecond.
        return t - int(0, 48 * 3600) * 1000 - int(0, 999);
    }
    return Date.parse('2025-01-01T00:00:00Z') + int(0, 364 * 24 * 3600) * 1000 + int(0, 999);
}

const rows = [];
let rerouted = 0;
let refused = 0;
while (rows.length < COUNT) {
    const e = generateExpression();
    let zone = pick([...Object.keys(dstZones), ...Object.keys(dstZones), ...plainZones]);
    // Deliberate difference 1 (README.md): croner treats a schedule as fixed-time only when
    // its second, minute and hour fields are single values; CronSchedule when its hour field
    // leaves out some hours. The two agree on all other days, so such schedules are checked
    // in zones without daylight saving.
    if (e.fixedOurs !== e.fixedCroner && dstZones[zone]) {
        zone = pick(plainZones);
        ++rerouted;
    }
    const start = startNear(zone);
    let runs;
    try {
        const job = new Cron(e.croner, {
            timezone: zone,
            legacyMode: true, // day of month OR day of week, as in Vixie cron
            sloppyRanges: true, // "5/15" means 5-59/15
            mode: '5-or-6-parts',
            paused: true,
        });
        runs = job.nextRuns(RUNS, new Date(start)).map((d) => iso(d.getTime()));
        job.stop();
    } catch (error) {
        throw new Error(`croner refused "${e.croner}": ${error.message}`);
    }
    if (runs.length < RUNS) {
        // Never fires (0 0 31 FEB *): CronSchedule refuses such expressions at parse time,
        // which tst_cron checks; keep the table to schedules that fire.
        ++refused;
        continue;
    }
    rows.push([rows.length + 1, zone, iso(start), e.ours, e.croner, runs.join(',')].join('\t'));
}

const header = [
    `# croner ${cronerVersion}, seed ${SEED}, ${COUNT} expressions, ${RUNS} fire times each.`,
    `# ${rerouted} expressions moved to zones without daylight saving (README.md, difference 1);`,
    `# ${refused} never-firing expressions dropped.`,
    '# id\tzone\tstart\texpression\tcroner expression\tnext fire times (UTC)',
];
const out = join(dirname(fileURLToPath(import.meta.url)), 'croner-table.tsv');
writeFileSync(out, [...header, ...rows].join('\n') + '\n');
console.log(`wrote ${rows.length} rows to ${out} (${rerouted} rerouted, ${refused} dropped)`);
