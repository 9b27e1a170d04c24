import { useMemo } from 'preact/hooks';
import { renderMarkdown } from '../markdown';

/** Markdown shown rendered: the HTML comes from renderMarkdown, which lets nothing executable through. */
export function MarkdownText({ source, class: className }: { source: string; class?: string }) {
  const html = useMemo(() => renderMarkdown(source), [source]);
  return <div class={`markdown ${className ?? ''}`} dangerouslySetInnerHTML={{ __html: html }} />;
}
