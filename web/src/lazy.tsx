import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** A page whose code is fetched the first time it is shown (a separate chunk in the build). */
export function lazyPage<Props extends object>(load: () => Promise<ComponentType<Props>>): ComponentType<Props> {
  let loaded: ComponentType<Props> | undefined;
  let loading: Promise<ComponentType<Props>> | undefined;
  return function LazyPage(props: Props) {
    const [Page, setPage] = useState<ComponentType<Props> | undefined>(() => loaded);
    const [error, setError] = useState<string | null>(null);
    useEffect(() => {
      if (loaded) return;
      loading ??= load().then((page) => (loaded = page));
      loading.then(
        (page) => setPage(() => page),
        (failure: unknown) => {
          loading = undefined;
          setError(String(failure));
        },
      );
    }, []);
    if (error) return <p class="error">Could not load this page ({error}). Reload to try again.</p>;
    return Page ? <Page {...props} /> : <p aria-busy="true">Loading…</p>;
  };
}
