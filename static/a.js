/* lead-intake attribution (README "Attribution"): remembers in this site's localStorage how the
   visitor first and last came here, and sends it with the forms posted to lead-intake. */
;(function (w, d) {
  var me = d.currentScript
  if ((w.leadIntake && w.leadIntake.attribution) || !me) return // loaded twice
  var origin = new URL(me.src).origin
  var KEY = 'lead-intake-touch'
  var PARAMS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'gclid', 'fbclid', 'msclkid', 'li_fat_id']
  var VISIT_GAP = 30 * 60e3 // a page view this long after the previous one starts a new visit
  var state // what is remembered, also when localStorage can't be used (this page only then)
  var store = function () {
    try {
      return w.localStorage
    } catch (e) {} // storage blocked: remember nothing
  }
  var load = function () {
    try {
      return JSON.parse(store().getItem(KEY))
    } catch (e) {}
  }
  // Something stored means consent was given on an earlier page.
  var granted = me.getAttribute('data-consent') != 'required' || !!load()
  var host = function (url) {
    try {
      return new URL(url).hostname
    } catch (e) {
      return ''
    }
  }
  var bare = function (h) {
    return h.replace(/^www\./, '')
  }

  // This page view: a new touch when it carries campaign parameters or comes from another site.
  function view() {
    var q = new URLSearchParams(location.search)
    var t = {}
    var key = ''
    PARAMS.forEach(function (p) {
      var v = q.get(p)
      if (v) key += p + '=' + (t[p] = v.slice(0, 200)) + '&'
    })
    var ref = host(d.referrer)
    if (ref && bare(ref) != bare(location.hostname)) key += 'ref=' + (t.referrer_host = ref)
    t.landing_page = location.pathname.slice(0, 500)
    t.at = new Date().toISOString()
    return { touch: t, key: key }
  }

  function record() {
    var s = load() || {}
    var now = Date.now()
    var v = view()
    var recent = now - (s.seen || 0) < VISIT_GAP
    // A reload of the landing page (same parameters, same visit) is no new touch.
    var touched = v.key && !(recent && v.key == s.key)
    if (!s.first) {
      s.first = s.last = v.touch
      s.visits = 1
    } else {
      if (touched) s.last = v.touch
      if (touched || !recent) s.visits = (s.visits || 0) + 1
    }
    if (touched) s.key = v.key
    s.seen = now
    state = s
    try {
      store().setItem(KEY, JSON.stringify(s))
    } catch (e) {}
  }

  // The fields lead-intake reads: first_<param>, last_<param>, visits.
  function attribution() {
    var out = {}
    if (!state) return out
    ;['first', 'last'].forEach(function (k) {
      for (var p in state[k]) out[k + '_' + p] = String(state[k][p])
    })
    out.visits = String(state.visits)
    return out
  }

  var ours = function (form) {
    try {
      return new URL(form.getAttribute('action') || '', d.baseURI).origin == origin
    } catch (e) {}
  }

  // Hidden fields in every form posted to lead-intake, refreshed on submit.
  function fill(form) {
    var forms = form ? [form] : d.forms
    var values = attribution()
    ;[].forEach.call(forms, function (f) {
      if (!ours(f)) return
      ;[].forEach.call(f.querySelectorAll('input[data-lead-intake]'), function (i) {
        i.remove()
      })
      for (var name in values) {
        var i = d.createElement('input')
        i.type = 'hidden'
        i.name = name
        i.value = values[name]
        i.setAttribute('data-lead-intake', '')
        f.appendChild(i)
      }
    })
  }

  // consent() starts remembering (from this page view); consent(false) forgets everything.
  function consent(given) {
    if (given === false) {
      state = granted = 0
      try {
        store().removeItem(KEY)
      } catch (e) {}
    } else if (!granted) {
      granted = 1
      record()
    }
    fill()
  }

  if (granted) record()
  // Captured before the form's own handlers, and before the browser reads the form's fields.
  d.addEventListener('submit', function (e) {
    fill(e.target)
  }, true)
  // A form's own consent checkbox, marked data-lead-intake-consent, gives consent when ticked.
  d.addEventListener('change', function (e) {
    var el = e.target
    if (el.hasAttribute && el.hasAttribute('data-lead-intake-consent') && el.checked) consent()
  }, true)
  if (d.readyState == 'loading') d.addEventListener('DOMContentLoaded', function () {
    fill()
  })
  else fill()
  w.leadIntake = { attribution: attribution, consent: consent }
})(window, document)
