import { useState } from 'preact/hooks';

/** Choose files with the picker or drop them here (many at once). */
export function UploadDropZone({
  folderLabel,
  onFiles,
}: {
  folderLabel: string;
  onFiles: (files: File[]) => void;
}) {
  const [over, setOver] = useState(false);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: dropping is a pointer extra; the picker inside is the keyboard path
    <div
      class={`drop-zone${over ? ' over' : ''}`}
      data-testid="drop-zone"
      onDragOver={(event) => {
        event.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(event) => {
        event.preventDefault();
        setOver(false);
        const files = Array.from(event.dataTransfer?.files ?? []);
        if (files.length > 0) onFiles(files);
      }}
    >
      <label>
        Upload files to {folderLabel}
        <input
          type="file"
          multiple
          onChange={(event) => {
            const files = Array.from(event.currentTarget.files ?? []);
            event.currentTarget.value = '';
            if (files.length > 0) onFiles(files);
          }}
        />
      </label>
      <p class="muted">or drop files here</p>
    </div>
  );
}
