// GET /: a self-contained page (no external resources) to try the models on a photo: a selector
// lists the models of GET /v1/models that serve, the default one first chosen.
import type { FastifyInstance } from 'fastify';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pytorch-infer</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  #drop { border: 2px dashed #999; border-radius: 8px; padding: 1.5rem; text-align: center; cursor: pointer; }
  #drop.over { border-color: #06c; background: #eef5ff; }
  #preview { display: block; max-width: 100%; max-height: 20rem; margin: 1rem auto; }
  #error { color: #b00020; font-weight: 600; white-space: pre-wrap; }
  .row { display: grid; grid-template-columns: 12rem 1fr 4rem; gap: .5rem; align-items: center; margin: .3rem 0; }
  .bar { height: 1rem; background: #06c; border-radius: 3px; }
  .pct { text-align: right; font-variant-numeric: tabular-nums; }
  #status { color: #666; }
  #chooser { margin: 0 0 1rem; }
</style>
</head>
<body>
<h1>What is in the photo?</h1>
<p id="chooser"><label for="model">Model</label> <select id="model"></select></p>
<label id="drop">Choose a photo or drop it here
  <input id="file" type="file" accept="image/*" hidden>
</label>
<img id="preview" alt="" hidden>
<p id="status"></p>
<p id="error" role="alert"></p>
<div id="results" aria-live="polite"></div>
<script>
const $ = (id) => document.getElementById(id);
const drop = $('drop');

async function listModels() {
  try {
    const answer = await (await fetch('/v1/models')).json();
    const ready = answer.models.filter((m) => m.ready);
    $('model').replaceChildren(...ready.map((m) => {
      const option = document.createElement('option');
      option.value = m.name;
      option.textContent = m.name + ' · ' + m.classes + ' classes · ' + m.input_size.join('×');
      option.selected = m.name === answer.default;
      return option;
    }));
  } catch (err) {
    $('error').textContent = 'Error: cannot list the models: ' + err.message;
  }
}
listModels();

let chosen;

async function classify(file) {
  chosen = file;
  $('error').textContent = '';
  $('results').replaceChildren();
  $('preview').src = URL.createObjectURL(file);
  $('preview').hidden = false;
  $('status').textContent = 'Classifying ' + file.name + '…';
  try {
    const model = $('model').value;
    const response = await fetch('/v1/predict?top=5' + (model ? '&model=' + encodeURIComponent(model) : ''), {
      method: 'POST',
      headers: { 'content-type': file.type || 'application/octet-stream' },
      body: file,
    });
    const answer = await response.json().catch(() => ({ error: 'the server answered ' + response.status + ' without JSON' }));
    if (!response.ok) throw new Error(answer.error || 'the server answered ' + response.status);
    show(answer.results[0].predictions);
    $('status').textContent = answer.model.name + ' · ' + answer.timings.total_ms.toFixed(0) + ' ms';
  } catch (err) {
    $('status').textContent = '';
    $('error').textContent = 'Error: ' + err.message;
  }
}

function show(predictions) {
  $('results').replaceChildren(...predictions.map((p) => {
    const row = document.createElement('div');
    row.className = 'row';
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = p.label;
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.style.width = (p.probability * 100).toFixed(1) + '%';
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = (p.probability * 100).toFixed(1) + '%';
    row.append(label, bar, pct);
    return row;
  }));
}

$('file').addEventListener('change', (e) => e.target.files[0] && classify(e.target.files[0]));
$('model').addEventListener('change', () => chosen && classify(chosen));
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer.files[0]) classify(e.dataTransfer.files[0]);
});
</script>
</body>
</html>
`;

export async function pageRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
}
