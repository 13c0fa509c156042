/**
 * The demo page (`GET /demo`, when DEMO_PAGE is "true", as `npm run dev`
 * sets it): the shipped `contact` form posted the way a customer's site
 * would, once as a plain form and once with fetch. Plain HTML, no build step.
 */
import { escapeHtml, page } from './html'

const fields = `
  <label>Email <input name="email" type="email" required autocomplete="email"></label>
  <label>First name <input name="first_name" autocomplete="given-name"></label>
  <label>Last name <input name="last_name" autocomplete="family-name"></label>
  <label>Company <input name="company" autocomplete="organization"></label>
  <label>Phone <input name="phone" type="tel" autocomplete="tel"></label>
  <label>Message <textarea name="message" rows="3"></textarea></label>
  <!-- Honeypot: hidden from people, filled by bots; a filled one is answered like a success and written nowhere. -->
  <input type="text" name="_gotcha" tabindex="-1" autocomplete="off" style="display:none" aria-hidden="true">`

const script = `
document.getElementById('ajax').addEventListener('submit', async (event) => {
  event.preventDefault()
  const out = document.getElementById('answer')
  const res = await fetch('/forms/contact', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Object.fromEntries(new FormData(event.target))),
  })
  out.textContent = res.status + ' ' + (await res.text())
})`

export function demoPage(leadsUrl: string | undefined): string {
  const where = leadsUrl
    ? `<a id="leads" href="${escapeHtml(leadsUrl)}">the leads written to the (stand-in) CRM</a>`
    : 'your CRM'
  return page(
    'lead-intake demo',
    `<style>label{display:block;margin:.4rem 0}input,textarea{display:block;width:100%;padding:.3rem}button{margin-top:.6rem;padding:.4rem 1rem}</style>
<p>Both forms post to <code>/forms/contact</code>. Then look at ${where}, or the operator's <a href="/operator/">console</a>.</p>
<h2>A plain HTML form</h2>
<form id="plain" action="/forms/contact" method="post">${fields}
  <button type="submit">Send</button>
</form>
<h2>The same form with fetch</h2>
<form id="ajax">${fields}
  <button type="submit">Send with fetch</button>
</form>
<pre id="answer" aria-live="polite"></pre>
<script>${script}</script>`,
  )
}
