import MarkdownIt from 'markdown-it';

// Markdown a person wrote (a run's notes) turned into HTML that can run nothing: raw HTML is escaped
// rather than passed through (html: false), links go only to http(s) and mailto, and images are not
// rendered at all, so that opening a run page fetches nothing from a host its notes name.

/** Where a link may point: anything else (javascript:, data:, vbscript:, file:) stays plain text. */
const safeLink = /^(?:https?:|mailto:)/i;

const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false });
markdown.disable(['image']);
// markdown-it's own check refuses javascript: and friends but allows relative and other schemes; this
// one allows only the schemes above (after markdown-it has normalised entities and case).
markdown.validateLink = (url: string) => safeLink.test(url.trim());

const renderToken =
  markdown.renderer.rules.link_open ??
  ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));
// Links open elsewhere without handing this page (window.opener) or its URL (referrer) to the target.
markdown.renderer.rules.link_open = (tokens, index, options, env, self) => {
  const token = tokens[index]!;
  token.attrSet('rel', 'noopener noreferrer nofollow');
  token.attrSet('target', '_blank');
  return renderToken(tokens, index, options, env, self);
};

/** The HTML of `source`, safe to put into the page as it is. */
export function renderMarkdown(source: string): string {
  return markdown.render(source);
}
