import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../web/src/markdown.js';

// The run page puts this HTML into the page as it is: nothing a note says may run or load anything.
describe('renderMarkdown', () => {
  it('renders emphasis, lists, code and http(s) and mailto links', () => {
    const html = renderMarkdown(
      '**bold** and `code`\n\n- one\n- two\n\n[docs](https://example.com/a?b=1) [me](mailto:me@example.com)',
    );
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<code>code</code>');
    expect(html).toContain('<li>two</li>');
    expect(html).toContain('href="https://example.com/a?b=1"');
    expect(html).toContain('href="mailto:me@example.com"');
    expect(html).toContain('rel="noopener noreferrer nofollow"');
  });

  it('escapes raw HTML: a script or an img with onerror stays text', () => {
    const html = renderMarkdown(
      '<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\nafter <b onclick=x>b</b>',
    );
    expect(html).not.toMatch(/<script|<img|<b /i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(2)&quot;&gt;');
  });

  it.each([
    '[click](javascript:alert(1))',
    '[click](JaVaScRiPt:alert(1))',
    '[click](java&#115;cript:alert(1))',
    '[click](&#x6A;avascript:alert(1))',
    '<javascript:alert(1)>',
    '[click](vbscript:msgbox(1))',
    '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '[click](file:///etc/passwd)',
    '[click](/runs/relative)',
    '[ref]\n\n[ref]: javascript:alert(1)',
  ])('makes no link of %s', (source) => {
    const html = renderMarkdown(source);
    expect(html).not.toContain('<a ');
    expect(html).not.toMatch(/href=/i);
  });

  it('renders no image, so a note makes the page fetch nothing', () => {
    const html = renderMarkdown('![pixel](https://tracker.example/p.gif) ![x](javascript:alert(1))');
    expect(html).not.toContain('<img');
  });

  it('keeps attribute-breaking quotes inside a link target escaped', () => {
    const html = renderMarkdown('[x](https://example.com/"onmouseover="alert(1))');
    expect(html).not.toMatch(/"\s*onmouseover=/);
  });
});
