import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { fetchWithKey } from '../api';
import { currentKey } from '../auth';

// Links and images the browser fetches by itself send no Authorization header. When the dashboard
// holds a key, these fetch with it instead; without one (AUTH=off) they are plain <a> and <img>.

/** A download link that carries the key: fetched, then saved from a blob URL. */
export function DownloadLink({
  href,
  download,
  children,
}: {
  href: string;
  download: string;
  children: ComponentChildren;
}) {
  const onClick = async (event: MouseEvent) => {
    if (currentKey() === null) return;
    event.preventDefault();
    const response = await fetchWithKey(href);
    if (!response.ok) return;
    const url = URL.createObjectURL(await response.blob());
    const anchor = document.createElement('a');
    anchor.href = url;
    anchor.download = download;
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <a href={href} download={download} onClick={(event) => void onClick(event)}>
      {children}
    </a>
  );
}

function asDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(new Error('could not read the image'));
    reader.readAsDataURL(blob);
  });
}

/**
 * An <img> of an API path that carries the key. Shown from a data: URL, which the content security
 * policy allows for images (blob: it does not).
 */
export function ImageWithKey({ src, ...rest }: JSX.ImgHTMLAttributes<HTMLImageElement> & { src: string }) {
  const [shown, setShown] = useState<string | undefined>(() => (currentKey() === null ? src : undefined));
  useEffect(() => {
    if (currentKey() === null) return setShown(src);
    let current = true;
    fetchWithKey(src)
      .then((response) => (response.ok ? response.blob().then(asDataUrl) : undefined))
      .then(
        (url) => current && setShown(url),
        () => undefined,
      );
    return () => {
      current = false;
    };
  }, [src]);
  return <img src={shown} {...rest} />;
}
