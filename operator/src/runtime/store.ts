import type { KubeObject } from './kube-http-client.js';

/** client-go's MetaNamespaceKeyFunc: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

/** The inverse of objectKey. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  if (slash < 0) return { name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Read access to an informer's cache; objects are the apiserver's JSON and must not be mutated. */
export interface Store<T extends KubeObject = KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  readonly size: number;
}

/** The informer's cache: the latest known state of every object it watches, keyed by objectKey. */
export class MapStore<T extends KubeObject = KubeObject> implements Store<T> {
  private readonly items = new Map<string, T>();

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  set(key: string, obj: T): T | undefined {
    const previous = this.items.get(key);
    this.items.set(key, obj);
    return previous;
  }

  delete(key: string): T | undefined {
    const previous = this.items.get(key);
    this.items.delete(key);
    return previous;
  }

  /** Replaces the content; returns the objects that are no longer present. */
  replace(next: Map<string, T>): T[] {
    const gone: T[] = [];
    for (const [key, obj] of this.items) if (!next.has(key)) gone.push(obj);
    this.items.clear();
    for (const [key, obj] of next) this.items.set(key, obj);
    return gone;
  }
}
