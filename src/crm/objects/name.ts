/** The CRM objects lead-intake writes: a name every layer of crm/ may use without importing the objects. */
export type ObjectName = 'lead' | 'contact' | 'company' | 'event'
