import type { AnalyticsClient } from '@analytics-service/sdk';
import { createContext } from 'react';

/** The client an {@link AnalyticsProvider} holds, for the hooks below it. */
export const AnalyticsContext = createContext<AnalyticsClient | null>(null);
