import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * A page whose code is fetched the first time it is shown (a separate chunk in the build), or
 * earlier with `preload`: the entry script calls it for the page the address names, so the chunk
 * loads while the session and the page's first API answers are awaited.
 */
export function lazyPage<Props extends object>(
  load: () => Promise<ComponentType<Props>>,
): ComponentType<Props> & { preload(): void } {
  let loaded: ComponentType<Props> | undefined;
  let loading: Promise<ComponentType<Props>> | undefined;
  // A failed load is forgotten, so the next showing tries again.
  const start = () =>
    (loading ??= load().then(
      (page) => (loaded = page),
      (failure: unknown) => {
        loading = undefined;
        throw failure;
      },
    ));
  function LazyPage(props: Props) {
    const [Page, setPage] = useState<ComponentType<Props> | undefined>(() => loaded);
    const [error, setError] = useState<string | null>(null);
    useEffect(() => {
      // Also when the preload finished between the first render and now.
      if (Page) return;
      start().then(
        (page) => setPage(() => page),
        (failure: unknown) => setError(String(failure)),
      );
    }, []);
    if (error) return <p class="error">Could not load this page ({error}). Reload to try again.</p>;
    return Page ? <Page {...props} /> : <p aria-busy="true">Loading…</p>;
  }
  return Object.assign(LazyPage, { preload: () => void start().catch(() => undefined) });
}
