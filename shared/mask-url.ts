// One way to show a URL without its password, for banners, messages and `inspect stats`: a broker
// setting may carry credentials (amqp://user:secret@host, redis://:secret@host) and a list of
// failover URLs separated by ';', as kombu's broker_url does.

/** The URL, or each URL of a `;`-separated list, with the password replaced by `***`. */
export function maskUrlPassword(url: string): string {
  return url.replace(/(^|;)(\s*[a-z][a-z0-9+.-]*:\/\/[^:/@;]*:)[^@/;]*@/gi, '$1$2***@');
}
