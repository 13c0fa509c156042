/**
 * Submissions per hour over seven UTC days, stacked by outcome, as inline SVG
 * drawn here on the server: no script, no third-party asset, a few KiB. The
 * SVG stretches to any width (one unit per hour); the day labels are HTML
 * below it, so they stay readable on a phone.
 */
import { escapeHtml } from '../http/html'
import { chartStart, DAY_MS, HOUR_MS, type Overview } from '../store/browse'

/** The outcomes the chart stacks, bottom up, and the states each stands for. */
export const OUTCOMES = [
  { key: 'written', label: 'written', states: ['written'] },
  { key: 'waiting', label: 'queued, retrying or held', states: ['queued', 'retrying', 'held'] },
  { key: 'failed', label: 'failed', states: ['failed'] },
  { key: 'spam', label: 'spam', states: ['spam'] },
  { key: 'ignored', label: 'ignored or duplicate', states: ['ignored', 'duplicate-delivery'] },
] as const

const outcomeOf = (state: string) => OUTCOMES.findIndex((o) => (o.states as readonly string[]).includes(state))

const HEIGHT = 100
const num = (n: number) => String(Math.round(n * 100) / 100)
const day = (ms: number) => new Date(ms).toUTCString().slice(0, 11).replace(',', '') // "Mon 03 Nov"
/** A column's label, short enough for a phone: "Mon 3". */
const column = (ms: number) => `${new Date(ms).toUTCString().slice(0, 3)} ${new Date(ms).getUTCDate()}`

/** Counts per hour slot (0…167) and outcome. */
export function bucket(o: Pick<Overview, 'at' | 'hours'>): number[][] {
  const start = chartStart(o.at)
  const slots = Array.from({ length: 168 }, () => OUTCOMES.map(() => 0))
  for (const row of o.hours) {
    const slot = Math.floor((row.hour - start) / HOUR_MS)
    const outcome = outcomeOf(row.state)
    if (slot >= 0 && slot < 168 && outcome >= 0) slots[slot]![outcome]! += row.n
  }
  return slots
}

export function chart(o: Pick<Overview, 'at' | 'hours'>): string {
  const slots = bucket(o)
  const start = chartStart(o.at)
  const max = Math.max(1, ...slots.map((s) => s.reduce((a, b) => a + b, 0)))
  const scale = HEIGHT / max
  const paths = OUTCOMES.map(() => [] as string[])
  slots.forEach((counts, x) => {
    let base = HEIGHT
    counts.forEach((n, i) => {
      if (!n) return
      const h = n * scale
      base -= h
      paths[i]!.push(`M${x} ${num(base)}h.8v${num(h)}h-.8z`)
    })
  })
  const days = Array.from({ length: 7 }, (_, i) => start + i * DAY_MS)
  const totals = OUTCOMES.map((_, i) => slots.reduce((a, s) => a + s[i]!, 0))
  const summary = `${totals.reduce((a, b) => a + b, 0)} submissions from ${day(start)} to today (UTC): ${OUTCOMES.map((out, i) => `${totals[i]} ${out.label}`).join(', ')}. The busiest hour had ${max === 1 && totals.every((t) => !t) ? 0 : max}.`
  const svg =
    `<svg viewBox="0 0 168 ${HEIGHT}" preserveAspectRatio="none" role="img" aria-labelledby="chart-t"><title id="chart-t">${escapeHtml(summary)}</title>` +
    `<path class="grid" d="M0 0H168${days.slice(1).map((_, i) => `M${(i + 1) * 24} 0V${HEIGHT}`).join('')}"/>` +
    OUTCOMES.map((out, i) => (paths[i]!.length ? `<path class="c-${out.key}" d="${paths[i]!.join('')}"/>` : '')).join('') +
    '</svg>'
  const legend = OUTCOMES.map((out, i) => `<li><span class="sw c-${out.key}"></span>${out.label} <b>${totals[i]}</b></li>`).join('')
  const perDay = days
    .map((d, i) => {
      const counts = OUTCOMES.map((_, k) => slots.slice(i * 24, i * 24 + 24).reduce((a, s) => a + s[k]!, 0))
      return `<tr><th scope="row">${day(d)}</th>${counts.map((n) => `<td>${n}</td>`).join('')}</tr>`
    })
    .join('')
  return (
    `<figure class="chart"><figcaption>Submissions per hour, last 7 days (UTC), by outcome</figcaption>` +
    `<div class="plot"><span class="ymax">${max} per hour at most</span>${svg}</div>` +
    `<ol class="days" aria-hidden="true">${days.map((d) => `<li>${column(d)}</li>`).join('')}</ol>` +
    `<ul class="legend">${legend}</ul>` +
    `<details><summary>Per day, as a table</summary><div class="scroll"><table><thead><tr><th scope="col">Day</th>${OUTCOMES.map((out) => `<th scope="col">${out.label}</th>`).join('')}</tr></thead><tbody>${perDay}</tbody></table></div></details>` +
    `</figure>`
  )
}
