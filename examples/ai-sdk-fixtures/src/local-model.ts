import type { OpenAITestServer } from '@llmemo/test-support/openai';

/** The tickets the tests ask about (their answers are the committed fixtures). */
export const TICKETS = [
  'I was charged twice for order 1234.',
  'My parcel has not arrived after two weeks.',
  'How do I change the email address on my account?',
];

/** The local model: a one-word category for the classifier, a two-sentence draft for the reply. */
export function scriptLocalModel(server: OpenAITestServer): void {
  server.script((request) => {
    const ticket = request.lastUserText;
    if (/one word/.test(JSON.stringify(request.body))) {
      return {
        text: /charged|refund|invoice/i.test(ticket)
          ? 'billing'
          : /parcel|arrived|delivery/i.test(ticket)
            ? 'shipping'
            : 'other',
      };
    }
    return {
      text: `Thanks for reaching out about this. We are looking into "${ticket}" and will get back to you within a day.`,
    };
  });
}
