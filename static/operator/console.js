// The operator console's one script (src/operator/console.ts): refreshes each `[data-src]`
// element every `data-every` seconds with the HTML its URL answers (the same element, rendered
// again), and says so when it can't. A hidden tab waits until it is shown again: each refresh
// reads the week's rows from D1 (rows read are what D1 bills). The pages work without it.
const live = (el) => {
  if (el.dataset.src)
    setTimeout(
      () => (document.hidden ? document.addEventListener('visibilitychange', () => load(el), { once: true }) : load(el)),
      el.dataset.every * 1000,
    )
}
const load = async (el) => {
  try {
    const r = await fetch(el.dataset.src, { headers: { accept: 'text/html' } })
    if (!r.ok) throw r.status
    const t = document.createElement('template')
    t.innerHTML = await r.text()
    const n = t.content.firstElementChild
    el.replaceWith(n)
    live(n)
  } catch {
    el.classList.add('stale')
    const a = el.querySelector('.asof')
    if (a && !a.dataset.failed) {
      a.dataset.failed = 1
      a.append(' Could not refresh: reload the page.')
    }
    live(el)
  }
}
document.querySelectorAll('[data-src]').forEach(live)
