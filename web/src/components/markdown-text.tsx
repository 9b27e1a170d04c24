import { useEffect, useMemo, useState } from 'preact/hooks';

type Render = (source: string) => string;

// The markdown renderer (markdown-it) is most of the run page's code by size and only runs pages with
// notes need it: it loads when first shown, and until then the notes show as the plain text they are.
let loading: Promise<Render> | undefined;
const loadRenderer = (): Promise<Render> => (loading ??= import('../markdown').then((module) => module.renderMarkdown));

/** Markdown shown rendered: the HTML comes from renderMarkdown, which lets nothing executable through. */
export function MarkdownText({ source, class: className }: { source: string; class?: string }) {
  const [render, setRender] = useState<Render | null>(null);
  useEffect(() => {
    let current = true;
    loadRenderer().then(
      (loaded) => current && setRender(() => loaded),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, []);
  const html = useMemo(() => render?.(source) ?? null, [render, source]);
  if (html === null) return <div class={`markdown plain ${className ?? ''}`}>{source}</div>;
  return <div class={`markdown ${className ?? ''}`} dangerouslySetInnerHTML={{ __html: html }} />;
}
