import { describeError, MATCH_ID_PATTERN, uploadVideo } from './api.js';
import { byId, formatBytes, say } from './dom.js';

/** A match id from a file name: "Cup final 2024.mp4" -> "Cup-final-2024". */
function idFromFileName(name: string): string {
  return name
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

/**
 * The "Upload a match" card: PUT /v1/matches/:id/video with the file as the
 * body and a progress bar; `onUploaded` runs with the new match's id.
 */
export function setUpUpload(onUploaded: (id: string) => Promise<void>): void {
  const form = byId('upload-form', HTMLFormElement);
  const fileInput = byId('upload-file', HTMLInputElement);
  const idInput = byId('upload-id', HTMLInputElement);
  const overwrite = byId('upload-overwrite', HTMLInputElement);
  const submit = byId('upload-submit', HTMLButtonElement);
  const cancel = byId('upload-cancel', HTMLButtonElement);
  const progress = byId('upload-progress', HTMLProgressElement);
  const status = byId('upload-status', HTMLParagraphElement);
  let upload: AbortController | undefined;

  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file && !idInput.value) idInput.value = idFromFileName(file.name);
  });
  cancel.addEventListener('click', () => upload?.abort());

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const file = fileInput.files?.[0];
    const id = idInput.value.trim();
    if (!file) return say(status, 'Choose a video file first.', 'error');
    if (!MATCH_ID_PATTERN.test(id)) {
      return say(status, 'A match id is 1-64 letters, digits, - or _.', 'error');
    }
    upload = new AbortController();
    submit.disabled = true;
    cancel.hidden = false;
    progress.hidden = false;
    progress.value = 0;
    say(status, `Uploading ${file.name}…`);
    let lastQuarter = -1;
    uploadVideo(id, file, {
      overwrite: overwrite.checked,
      signal: upload.signal,
      onProgress: (sent) => {
        const fraction = file.size ? sent / file.size : 1;
        progress.value = fraction;
        // The status is read out by screen readers: once per quarter is plenty.
        const quarter = Math.floor(fraction * 4);
        if (quarter === lastQuarter) return;
        lastQuarter = quarter;
        say(
          status,
          quarter === 4
            ? 'Sent; soccer-service is checking the video…'
            : `Uploading: ${formatBytes(sent)} of ${formatBytes(file.size)} (${Math.floor(fraction * 100)}%)`,
        );
      },
    })
      .then(async (stored) => {
        progress.value = 1;
        say(
          status,
          `Stored "${stored.id}" (${formatBytes(stored.bytes)}). It is in the list of matches.`,
          'ok',
        );
        form.reset();
        await onUploaded(stored.id);
      })
      .catch((err: unknown) => {
        const cancelled = err instanceof DOMException && err.name === 'AbortError';
        say(
          status,
          cancelled ? 'Upload cancelled.' : `Upload failed: ${describeError(err)}.`,
          'error',
        );
      })
      .finally(() => {
        upload = undefined;
        submit.disabled = false;
        cancel.hidden = true;
        progress.hidden = true;
      });
  });
}
