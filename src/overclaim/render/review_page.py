"""The service's review page at ``/``: paste text, see highlighted units and their reasons.

Self-contained (no external resources). The reasons shown are the results' own
``reason`` field, so the page and the reports word them alike.
"""

REVIEW_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>overclaim</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f6f4}
header{background:#22303c;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:2px 0 0;font-size:13px;color:#cfd8dc}
main{max-width:1000px;margin:0 auto;padding:16px 24px}
textarea{width:100%;box-sizing:border-box;height:170px;font:14px/1.4 system-ui,sans-serif;
 padding:8px;border:1px solid #bbb;border-radius:6px}
button{font-size:15px;padding:6px 18px;margin:8px 0;border:0;border-radius:6px;
 background:#22303c;color:#fff;cursor:pointer}button:disabled{opacity:.5}
.card{background:#fff;border-radius:8px;padding:16px;margin-top:12px}
#summary{font-size:16px}#summary strong{font-size:22px}
#text{white-space:pre-wrap}
.u{padding:1px 2px;border-radius:3px}
.u.flagged{background:#ffd3cc;border-bottom:2px solid #c0392b}
.u.review{background:#fff1c2;border-bottom:2px dashed #b7950b}
.why{display:inline-block;font-size:12px;line-height:1.3;color:#8a2b1f;background:#fdf0ee;
 border-radius:3px;padding:0 5px;margin:0 4px}
.why.review{color:#7d6608;background:#fdf8e6}
.error{color:#a00}.meta{color:#666;font-size:13px}[hidden]{display:none}
</style></head>
<body><header><h1>overclaim</h1>
<p>Paste health-treatment copy (text or HTML) to see which sentences overclaim, and why.
A reviewer's aid, not a verdict.</p></header>
<main>
<label for="input"><strong>Text or HTML</strong></label>
<textarea id="input" placeholder="Paste a page, a paragraph or its HTML here"></textarea>
<button id="score">Score</button> <span class="meta">(Ctrl+Enter)</span>
<p id="error" class="error" hidden></p>
<section id="result" class="card" hidden>
<div id="summary"></div>
<p class="meta">Highlighted: <span class="u flagged">flagged</span> and
<span class="u review">to review</span>; the reason is beside each and on hover.</p>
<div id="text"></div></section>
</main>
<script>
const $ = id => document.getElementById(id);
function el(tag, cls, text){const e=document.createElement(tag);
  if(cls)e.className=cls; if(text!==undefined)e.textContent=text; return e;}
function show(r){
  const flagged=r.sentences.filter(s=>s.status==='flagged').length;
  const review=r.sentences.filter(s=>s.status==='review').length;
  const cats=Object.keys(r.categories).filter(c=>r.categories[c]);
  const summary=$('summary'); summary.textContent='';
  summary.append('page score ', el('strong','score',r.score.toFixed(3)),
    ` \\u00b7 ${flagged} flagged, ${review} to review, ${r.sentences.length} units`+
    (cats.length?` \\u00b7 categories: ${cats.join(', ')}`:''));
  const box=$('text'); box.textContent=''; let at=0;
  for(const s of r.sentences){
    box.append(r.text.slice(at,s.start)); at=s.end;
    if(s.status==='clear'){box.append(s.text); continue;}
    const why=s.reason, span=el('span','u '+s.status,s.text);
    span.title=why; box.append(span, el('span','why '+s.status,why));}
  box.append(r.text.slice(at));
  $('result').hidden=false;}
async function run(){
  const value=$('input').value, button=$('score');
  $('error').hidden=true; button.disabled=true;
  const field=/^\\s*<[a-z!]/i.test(value)?'html':'text';
  try{
    const response=await fetch('/v1/score?include_text=true',{method:'POST',
      headers:{'Content-Type':'application/json'},body:JSON.stringify({[field]:value})});
    const data=await response.json();
    if(!response.ok) throw new Error(typeof data.detail==='string'?data.detail:
      JSON.stringify(data.detail));
    show(data);
  }catch(e){$('result').hidden=true; $('error').textContent='Not scored: '+e.message;
    $('error').hidden=false;}
  finally{button.disabled=false;}}
$('score').addEventListener('click',run);
$('input').addEventListener('keydown',e=>{if(e.key==='Enter'&&e.ctrlKey)run();});
</script></body></html>
"""
